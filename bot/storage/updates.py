"""The inbox of raw channel updates, committed before the channel is told it arrived."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.storage.coordination import CoordinationQueries, inbox_scope
from bot.storage.records import (
    StoredUpdate,
    to_db_time,
)
from bot.storage.transaction import marks


class UpdateQueries(CoordinationQueries):
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

    # --- claims: several replicas share the inbox, each chat processed by one at a time, in order -------

    async def claim_updates(
        self,
        channel: str,
        owner: str,
        *,
        now: datetime,
        until: datetime,
        chats: int,
        exclude: Sequence[str] = (),
    ) -> list[StoredUpdate]:
        """Lease up to ``chats`` chats with pending updates to ``owner``; returns each one's oldest update.

        The lease covers the chat, so its updates are processed in order by one replica at a time (continue
        with :meth:`next_update`). A chat taken over from a replica whose lease lapsed mid-update gets that
        update's ``attempts`` counted up: it is processed again (at-least-once), never silently twice.
        ``exclude``: chats the caller is processing already.
        """
        stamp = to_db_time(now)
        scope = inbox_scope(channel)
        skip = ""
        params: list[object] = [channel, scope, stamp, owner]
        if exclude:
            skip = f" AND u.chat NOT IN ({marks(exclude)})"
            params.extend(exclude)
        params.append(chats)
        heads = await self.fetch_all(
            "SELECT u.* FROM inbound_updates u WHERE u.channel = ? AND u.state = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM inbound_updates e WHERE e.channel = u.channel AND e.chat = u.chat"
            "   AND e.state = 'pending' AND e.id < u.id)"
            " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.scope = ? AND l.key = u.chat"
            "   AND l.lease_until > ? AND l.owner <> ?)"
            f"{skip} ORDER BY u.id LIMIT ?{self.skip_locked}",
            params,
        )
        claimed: list[StoredUpdate] = []
        for head in heads:
            if len(claimed) >= chats:
                break
            taken = await self.take_lease(scope, head["chat"], owner, now=now, until=until)
            if taken is None:
                continue
            update = _update(head)
            if taken == "taken":  # its holder stopped renewing, most likely in the middle of this update
                await self.execute(
                    "UPDATE inbound_updates SET attempts = attempts + 1 WHERE id = ?", (head["id"],)
                )
                update = _update(head, attempts=int(head["attempts"]) + 1)
            claimed.append(update)
        return claimed

    async def next_update(
        self, channel: str, chat: str, owner: str, *, now: datetime, until: datetime
    ) -> StoredUpdate | None:
        """The chat's next pending update while ``owner`` keeps its lease (renewed to ``until``); None
        when the chat has nothing pending (the lease is released in the same transaction) or the lease is
        no longer ``owner``'s."""
        scope = inbox_scope(channel)
        if not await self.renew_lease(scope, chat, owner, until):
            return None
        row = await self.fetch_one(
            "SELECT * FROM inbound_updates WHERE channel = ? AND chat = ? AND state = 'pending' ORDER BY id LIMIT 1",
            (channel, chat),
        )
        if row is None:
            await self.release_leases(scope, owner, [chat])
            return None
        return _update(row)

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


def _update(row: Any, *, attempts: int | None = None) -> StoredUpdate:
    return StoredUpdate(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        chat=row["chat"],
        raw=row["raw"],
        attempts=row["attempts"] if attempts is None else attempts,
    )
