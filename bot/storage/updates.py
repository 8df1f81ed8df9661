"""The inbox of raw channel updates, committed before the channel is told it arrived."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.storage.records import (
    StoredUpdate,
    to_db_time,
)
from bot.storage.transaction import TxBase


class UpdateQueries(TxBase):
    # --- the inbox of raw updates ------------------------------------------------------------------------

    async def store_updates(
        self, channel: str, updates: Sequence[tuple[str, str, str]], now: datetime
    ) -> int:
        """Commit ``(external id, chat, raw JSON)`` rows; one already stored (redelivered) is ignored.

        Returns how many were new.
        """
        added = 0
        stamp = to_db_time(now)
        for external_id, chat, raw in updates:
            row = await self.fetch_one(
                "INSERT INTO inbound_updates (channel, external_id, chat, raw, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
                (channel, str(external_id), chat, raw, stamp),
            )
            added += row is not None
        return added

    async def pending_updates(self, channel: str, *, limit: int = 200) -> list[StoredUpdate]:
        """Stored updates not processed yet, in the order they arrived."""
        rows = await self.fetch_all(
            "SELECT * FROM inbound_updates WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT ?",
            (channel, limit),
        )
        return [
            StoredUpdate(
                id=row["id"],
                channel=row["channel"],
                external_id=row["external_id"],
                chat=row["chat"],
                raw=row["raw"],
                attempts=row["attempts"],
            )
            for row in rows
        ]

    async def finish_update(self, update_id: int, now: datetime, *, attempts: int = 1) -> None:
        """Processed: the raw JSON (customer text included) is dropped; the id stays to recognise a
        redelivery."""
        await self.execute(
            "UPDATE inbound_updates SET state = 'done', raw = NULL, finished_at = ?,"
            " attempts = attempts + ? WHERE id = ? AND state = 'pending'",
            (to_db_time(now), attempts, update_id),
        )

    async def poison_update(self, update_id: int, error: str, now: datetime, *, attempts: int = 1) -> None:
        """Cannot be processed: kept (raw included, for the operator) but never tried again."""
        await self.execute(
            "UPDATE inbound_updates SET state = 'poisoned', error = ?, finished_at = ?,"
            " attempts = attempts + ? WHERE id = ? AND state = 'pending'",
            (error[:1000], to_db_time(now), attempts, update_id),
        )

    async def prune_updates(self, before: datetime) -> int:
        """Forget finished updates older than ``before`` (a redelivery cannot come that late)."""
        return await self.execute(
            "DELETE FROM inbound_updates WHERE state <> 'pending' AND finished_at < ?", (to_db_time(before),)
        )

    async def inbox_counts(self) -> dict[str, int]:
        """Stored updates by state (``pending``, ``done``, ``poisoned``)."""
        rows = await self.fetch_all("SELECT state, count(*) AS n FROM inbound_updates GROUP BY state")
        counts = {"pending": 0, "done": 0, "poisoned": 0}
        counts.update({str(row["state"]): int(row["n"]) for row in rows})
        return counts
