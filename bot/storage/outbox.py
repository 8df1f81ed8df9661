"""The outbox: replies waiting to be delivered, and the in-flight marks that make a crash resend once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.model import Author
from bot.messages import Button
from bot.storage.coordination import OUTBOX, CoordinationQueries, LeaseLost
from bot.storage.records import (
    Interrupted,
    OutboxItem,
    buttons_from_json,
    buttons_to_json,
    to_db_time,
)
from bot.storage.rows import (
    json_text,
)
from bot.storage.transaction import StorageError, marks

_ITEMS = (
    "SELECT o.*, coalesce(m.text, '') AS text, coalesce(m.buttons, '[]') AS buttons,"
    " coalesce(c.external_id, '') AS recipient, m.author AS author"
    " FROM outbox o LEFT JOIN messages m ON m.id = o.message_id"
    " LEFT JOIN customers c ON c.id = o.customer_id"
)

MAX_RESENDS = 3
"""A reply interrupted mid-send this often (the process died during the channel call each time) is parked as
failed rather than sent yet again: each interruption may already have delivered it once."""

STAFF_CHANNEL = "staff"


@dataclass(frozen=True, slots=True)
class ClaimedQueue:
    """One customer's due outbox rows, oldest first, leased to one replica until it releases them."""

    key: str
    """The lease key: the customer id."""
    items: list[OutboxItem]
    interrupted: list[Interrupted]
    """Rows the previous holder was sending when it stopped (made due again, or parked), counted."""


class OutboxQueries(CoordinationQueries):
    # --- outbox ----------------------------------------------------------------------------------------------

    async def enqueue_outbound(
        self,
        customer_id: int,
        *,
        text: str,
        buttons: Sequence[Button] = (),
        author: Author,
        ticket_id: int | None = None,
        agent: str | None = None,
        dedup_key: str | None = None,
        now: datetime,
    ) -> int:
        """Store the message and queue it for the customer's channel in the same transaction.

        With ``dedup_key`` the call is idempotent: a second call with the same key returns the first
        outbox id and stores nothing, so re-handling a message after a crash cannot queue a reply twice.
        """
        customer = await self.customer(customer_id)
        if customer is None:
            raise StorageError(f"no customer #{customer_id}")
        if dedup_key is not None:
            row = await self.fetch_one(
                "SELECT id FROM outbox WHERE channel = ? AND dedup_key = ?", (customer.channel, dedup_key)
            )
            if row is not None:
                return int(row["id"])
        author = Author(author)
        stamp = to_db_time(now)
        message_id = await self.insert(
            "INSERT INTO messages (customer_id, ticket_id, author, agent, text, buttons, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                customer_id,
                ticket_id,
                author.value,
                (agent or "staff") if author is Author.AGENT else None,
                text,
                buttons_to_json(list(buttons)),
                stamp,
            ),
        )
        return await self.insert(
            "INSERT INTO outbox (channel, kind, customer_id, message_id, ticket_id, dedup_key,"
            " next_attempt_at, created_at) VALUES (?, 'message', ?, ?, ?, ?, ?, ?)",
            (customer.channel, customer_id, message_id, ticket_id, dedup_key, stamp, stamp),
        )

    async def enqueue_staff(
        self, kind: str, ticket_id: int, payload: Mapping[str, object], now: datetime
    ) -> int:
        """A notification for the staff channel (the Telegram staff group); delivered like any message."""
        stamp = to_db_time(now)
        return await self.insert(
            "INSERT INTO outbox (channel, kind, ticket_id, payload, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (STAFF_CHANNEL, kind, ticket_id, json_text(dict(payload)), stamp, stamp),
        )

    async def due_outbox(
        self, channel: str, *, now: datetime, limit: int = 50, first_kind: str | None = None
    ) -> list[OutboxItem]:
        """Pending items whose time has come, oldest first (items of ``first_kind`` ahead of all others).

        An item waits while an older item to the same customer is pending but not yet due (a retry
        scheduled later): customers must read replies in the order they were written.
        """
        rows = await self.fetch_all(
            _ITEMS + " WHERE o.channel = ? AND o.status = 'pending' AND o.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.customer_id = o.customer_id"
            "   AND e.status = 'pending' AND e.id < o.id AND e.next_attempt_at > ?)"
            " ORDER BY o.kind IS NOT DISTINCT FROM ? DESC, o.id LIMIT ?",
            (channel, to_db_time(now), to_db_time(now), first_kind, limit),
        )
        return [_item(row) for row in rows]

    async def mark_sent(self, outbox_id: int, channel_message_id: str | None, now: datetime) -> None:
        stamp = to_db_time(now)
        row = await self.fetch_one(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL"
            " WHERE id = ? AND status <> 'sent' RETURNING message_id",
            (stamp, outbox_id),
        )
        await self._sending_done(outbox_id)
        if row is not None and row["message_id"] is not None:
            await self.execute(
                "UPDATE messages SET sent_at = ?, channel_message_id = coalesce(?, channel_message_id)"
                " WHERE id = ?",
                (stamp, None if channel_message_id is None else str(channel_message_id), row["message_id"]),
            )

    async def mark_failed(
        self, outbox_id: int, error: str, *, retry_at: datetime | None, now: datetime
    ) -> None:
        """Count the attempt; ``retry_at`` None gives up for good (the row stays, visible to staff)."""
        await self.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
            " status = ?,"
            " next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ? AND status = 'pending'",
            (
                error[:1000],
                "failed" if retry_at is None else "pending",
                None if retry_at is None else to_db_time(retry_at),
                outbox_id,
            ),
        )
        await self._sending_done(outbox_id)

    # --- in-flight marks: a crash during a channel call resends that one row once, and counts it -------

    async def mark_sending(
        self, outbox_id: int, now: datetime, *, owner: str | None = None, lease_until: datetime | None = None
    ) -> bool:
        """Mark a pending row as being handed to its channel, committed before the call is made.

        False when the row is no longer pending or already marked (another round took it): the caller
        must not send it then. With ``owner`` the customer's lease is renewed to ``lease_until`` in the same
        transaction, and :class:`LeaseLost` raised when another replica has taken it over meanwhile.
        """
        row = await self.fetch_one("SELECT status, customer_id FROM outbox WHERE id = ?", (outbox_id,))
        if row is None or row["status"] != "pending":
            return False
        if owner is not None and row["customer_id"] is not None:
            until = now if lease_until is None else lease_until
            if not await self.renew_lease(OUTBOX, str(row["customer_id"]), owner, until):
                raise LeaseLost(f"outbox row {outbox_id}: its customer is served by another replica now")
        claimed = await self.fetch_one(
            "INSERT INTO outbox_sending (outbox_id, sending_since) VALUES (?, ?)"
            " ON CONFLICT (outbox_id) DO UPDATE SET sending_since = excluded.sending_since"
            " WHERE outbox_sending.sending_since IS NULL RETURNING outbox_id",
            (outbox_id, to_db_time(now)),
        )
        return claimed is not None

    async def _sending_done(self, outbox_id: int) -> None:
        await self.execute("DELETE FROM outbox_sending WHERE outbox_id = ? AND resends = 0", (outbox_id,))
        await self.execute("UPDATE outbox_sending SET sending_since = NULL WHERE outbox_id = ?", (outbox_id,))

    async def recover_sending(
        self,
        channels: Sequence[str],
        now: datetime,
        *,
        recipients: Sequence[str] | None = None,
        owner: str | None = None,
    ) -> list[Interrupted]:
        """Rows of ``channels`` marked as being sent by a process that is gone: they may or may not have
        arrived. Each is made due again (sent once more: at-least-once) and its ``resends`` counted; after
        :data:`MAX_RESENDS` interruptions it is parked as failed instead. Call before the first round.

        ``recipients`` limits this to some customers (a terminal chat serves exactly one). Rows of a
        customer whose lease another replica holds are left alone: that replica is sending them right now.
        """
        in_channels = marks(channels)
        rows = await self.fetch_all(
            "SELECT s.outbox_id, s.resends, o.customer_id, coalesce(c.external_id, '') AS recipient"
            " FROM outbox_sending s"
            " JOIN outbox o ON o.id = s.outbox_id LEFT JOIN customers c ON c.id = o.customer_id"
            f" WHERE s.sending_since IS NOT NULL AND o.status = 'pending' AND o.channel IN ({in_channels})"
            " ORDER BY s.outbox_id",
            list(channels),
        )
        found: list[Interrupted] = []
        for row in rows:
            if recipients is not None and row["recipient"] not in recipients:
                continue
            if row["customer_id"] is not None and await self.lease_holder(
                OUTBOX, str(row["customer_id"]), now
            ) not in (None, owner):
                continue  # another replica is sending it right now
            found.append(await self._interrupted(int(row["outbox_id"]), int(row["resends"])))
        return found

    async def _interrupted(self, outbox_id: int, resends_before: int) -> Interrupted:
        """A row whose sender stopped mid-send: due again and counted, or parked after MAX_RESENDS."""
        resends = resends_before + 1
        gave_up = resends > MAX_RESENDS
        await self.execute(
            "UPDATE outbox_sending SET sending_since = NULL, resends = ? WHERE outbox_id = ?",
            (resends, outbox_id),
        )
        if gave_up:
            await self.execute(
                "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'",
                (
                    f"interrupted while being sent {resends} times; not sent again (it may have"
                    " arrived already)",
                    outbox_id,
                ),
            )
        return Interrupted(outbox_id, resends, gave_up)

    # --- claims: several replicas share the outbox, each customer's queue served by one at a time ----------

    async def claim_outbox(
        self,
        channel: str,
        owner: str,
        *,
        now: datetime,
        until: datetime,
        customers: int,
        exclude: Sequence[str] = (),
        recipients: Sequence[str] | None = None,
        per_customer: int = 50,
    ) -> list[ClaimedQueue]:
        """Lease up to ``customers`` customers with due rows to ``owner`` and return their due rows.

        Only the head of a customer's queue makes it claimable (no older row of theirs still pending), and
        the lease covers the whole customer, not a row: their replies leave in order whichever replica
        sends them. On PostgreSQL the head rows are read ``FOR UPDATE SKIP LOCKED``, so replicas claiming
        at the same moment pick different customers instead of queueing behind each other; the lease
        upsert decides in any case. A customer taken over from a replica whose lease lapsed has its
        interrupted row counted as a resend (``MAX_RESENDS`` still applies). ``exclude`` are keys the
        caller is serving already; ``recipients`` limits the claim to some customers (a terminal chat).
        """
        stamp = to_db_time(now)
        params: list[object] = [channel, stamp, stamp, owner]
        only = ""
        if recipients is not None:
            if not recipients:
                return []
            only = (
                " AND o.customer_id IN (SELECT id FROM customers WHERE external_id IN ("
                + marks(recipients)
                + "))"
            )
            params.extend(recipients)
        skip = ""
        if exclude:
            skip = f" AND o.customer_id NOT IN ({marks(exclude)})"
            params.extend(int(key) for key in exclude)
        params.append(customers)
        heads = await self.fetch_all(
            "SELECT o.id, o.customer_id FROM outbox o WHERE o.channel = ? AND o.status = 'pending'"
            " AND o.customer_id IS NOT NULL AND o.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.customer_id = o.customer_id"
            "   AND e.status = 'pending' AND e.id < o.id)"
            " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.scope = 'outbox'"
            "   AND l.key = CAST(o.customer_id AS TEXT) AND l.lease_until > ? AND l.owner <> ?)"
            f"{only}{skip} ORDER BY o.id LIMIT ?{self.skip_locked}",
            params,
        )
        claimed: list[ClaimedQueue] = []
        for head in heads:
            if len(claimed) >= customers:
                break
            key = str(head["customer_id"])
            taken = await self.take_lease(OUTBOX, key, owner, now=now, until=until)
            if taken is None:
                continue  # another replica got there first
            interrupted: list[Interrupted] = []
            if taken != "kept":
                in_flight = await self.fetch_all(
                    "SELECT s.outbox_id, s.resends FROM outbox_sending s JOIN outbox o ON o.id = s.outbox_id"
                    " WHERE s.sending_since IS NOT NULL AND o.status = 'pending' AND o.customer_id = ?"
                    " ORDER BY s.outbox_id",
                    (head["customer_id"],),
                )
                for mark in in_flight:
                    interrupted.append(await self._interrupted(int(mark["outbox_id"]), int(mark["resends"])))
            rows = await self.fetch_all(
                _ITEMS + " WHERE o.customer_id = ? AND o.channel = ? AND o.status = 'pending'"
                " AND o.next_attempt_at <= ?"
                " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.customer_id = o.customer_id"
                "   AND e.status = 'pending' AND e.id < o.id AND e.next_attempt_at > ?)"
                " ORDER BY o.id LIMIT ?",
                (head["customer_id"], channel, stamp, stamp, per_customer),
            )
            claimed.append(ClaimedQueue(key, [_item(row) for row in rows], interrupted))
        return claimed

    async def delivery_marks(self) -> tuple[int, int]:
        """``(rows being sent right now, resends ever counted)``, for ``db status`` and the stats."""
        row = await self.fetch_one(
            "SELECT count(sending_since) AS sending, coalesce(sum(resends), 0) AS resends FROM outbox_sending"
        )
        return (int(row["sending"]), int(row["resends"])) if row else (0, 0)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        channel=row["channel"],
        recipient=row["recipient"],
        text=row["text"],
        buttons=buttons_from_json(row["buttons"]),
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        ticket_id=row["ticket_id"],
        message_id=row["message_id"],
        dedup_key=row["dedup_key"],
        attempts=row["attempts"],
        author=None if row["author"] is None else Author(row["author"]),
    )
