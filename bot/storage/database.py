"""The one SQLite file: customers, conversations, tickets, messages, events, ratings and the outbox.

Why it is built this way:

* WAL lets readers (``python -m bot queue list``) run while the bot writes; ``busy_timeout`` makes writers
  queue for the lock instead of failing with "database is locked".
* Every read-then-write runs in ``BEGIN IMMEDIATE``: the write lock is taken up front, so a claim cannot
  read "open" and then lose a race it already decided it had won (a deferred transaction would get an
  unretryable ``SQLITE_BUSY_SNAPSHOT`` instead).
* ``synchronous=FULL``: a committed customer message survives a power cut, not just a killed process.
  Support traffic is a few messages a second at most, far below what an fsync per commit allows.
* One aiosqlite connection per :class:`Database`; an :class:`asyncio.Lock` serialises the transactions of
  tasks sharing it, because SQLite has one transaction per connection.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.core.model import Author, Priority, Reason, TicketStatus
from bot.messages import Button
from bot.storage.migrate import migrate
from bot.storage.records import (
    DEFAULT_SLA,
    Customer,
    Event,
    InboundRow,
    Interrupted,
    OutboxItem,
    RecordedMessage,
    Resolution,
    SlaPolicy,
    StoredMessage,
    StoredUpdate,
    Ticket,
    buttons_from_json,
    buttons_to_json,
    from_db_time,
    opt_time,
    to_db_time,
)

BUSY_TIMEOUT_MS = 15_000
"""How long a writer waits for the lock. Transactions here last milliseconds; 15 s only matters when a
disk stalls, and then waiting beats dropping a customer's message."""

RATING_WINDOW = timedelta(days=3)
"""A rating answer counts if it comes within this time after the ticket was resolved."""

FIRST_RESPONSE_SAMPLE = 50
"""The wait estimate uses the median of at most this many recent first-response times ..."""
FIRST_RESPONSE_HORIZON = timedelta(days=14)
"""... from tickets created within this period, so an old quiet month does not skew today's estimate."""
ACTIVE_AGENT_WINDOW = timedelta(hours=1)
"""Agents who did something within this time count as on duty for the wait estimate."""
FIRST_RESPONSE_MINIMUM = 3
"""Fewer recent first responses than this give no estimate: one quick answer is luck, not a typical wait."""

MAX_RESENDS = 3
"""A reply interrupted mid-send this often (the process died during the channel call each time) is parked as
failed rather than sent yet again: each interruption may already have delivered it once."""

ACTIVE_STATUSES = tuple(status.value for status in TicketStatus if status.active)
STAFF_CHANNEL = "staff"

P = ParamSpec("P")
R = TypeVar("R")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def customer_from_row(row: sqlite3.Row, prefix: str = "") -> Customer:
    """``prefix`` reads columns aliased in a join (``c_id``, ``c_channel`` …)."""
    return Customer(
        id=row[prefix + "id"],
        channel=row[prefix + "channel"],
        external_id=row[prefix + "external_id"],
        display_name=row[prefix + "display_name"],
        language=row[prefix + "language"],
        blocked=bool(row[prefix + "blocked"]),
    )


def ticket_from_row(row: sqlite3.Row) -> Ticket:
    return Ticket(
        id=row["id"],
        customer_id=row["customer_id"],
        status=TicketStatus(row["status"]),
        priority=Priority(row["priority"]),
        reason=Reason(row["reason"]),
        assignee=row["assignee"],
        anger=float(row["anger"]),
        anger_reasons=tuple(json.loads(row["anger_reasons"])),
        summary=row["summary"],
        created_at=from_db_time(row["created_at"]),
        waiting_since=from_db_time(row["waiting_since"]),
        first_response_due=from_db_time(row["first_response_due"]),
        resolution_due=from_db_time(row["resolution_due"]),
        first_response_at=opt_time(row["first_response_at"]),
        resolved_at=opt_time(row["resolved_at"]),
        resolution=row["resolution"],
        snoozed_until=opt_time(row["snoozed_until"]),
        rating_asked_at=opt_time(row["rating_asked_at"]),
        updated_at=from_db_time(row["updated_at"]),
    )


def message_from_row(row: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        customer_id=row["customer_id"],
        ticket_id=row["ticket_id"],
        author=Author(row["author"]),
        agent=row["agent"],
        private=bool(row["private"]),
        text=row["text"],
        attachment=row["attachment"],
        payload=row["payload"],
        buttons=buttons_from_json(row["buttons"]),
        channel_message_id=row["channel_message_id"],
        analysis=row["analysis"],
        created_at=from_db_time(row["created_at"]),
        handled_at=opt_time(row["handled_at"]),
        sent_at=opt_time(row["sent_at"]),
    )


def event_from_row(row: sqlite3.Row) -> Event:
    detail = row["detail"]
    return Event(
        id=row["id"],
        ticket_id=row["ticket_id"],
        actor=row["actor"],
        kind=row["kind"],
        detail=None if detail is None else json.loads(detail),
        created_at=from_db_time(row["created_at"]),
    )


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class StorageError(RuntimeError):
    """A request the data does not allow (unknown ticket, wrong state); the message is for people."""


class Tx:
    """One open transaction. Obtain it from :meth:`Database.transaction`; do not keep it afterwards."""

    def __init__(self, conn: aiosqlite.Connection, sla: Mapping[Priority, SlaPolicy]) -> None:
        self._conn = conn
        self._sla = sla
        self._open = True

    # --- plumbing, public for the storage package's report modules -------------------------------------

    def _check(self) -> None:
        if not self._open:
            raise StorageError("transaction already finished")

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
        return row

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            rows: Iterable[sqlite3.Row] = await cursor.fetchall()
        return list(rows)

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; returns the row count (or the new row id for an INSERT)."""
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)

    # --- customers and conversation state --------------------------------------------------------------

    async def upsert_customer(
        self, channel: str, external_id: str, display_name: str, language: str | None
    ) -> Customer:
        """Find or create the customer; refreshes the display name, keeps a known language unless given."""
        row = await self.fetch_one(
            "INSERT INTO customers (channel, external_id, display_name, language, created_at)"
            " VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'))"
            " ON CONFLICT (channel, external_id) DO UPDATE SET"
            "  display_name = CASE WHEN excluded.display_name <> '' THEN excluded.display_name"
            "                      ELSE customers.display_name END,"
            "  language = coalesce(excluded.language, customers.language)"
            " RETURNING *",
            (channel, str(external_id), display_name or "", language),
        )
        assert row is not None
        return customer_from_row(row)

    async def customer(self, customer_id: int) -> Customer | None:
        row = await self.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return None if row is None else customer_from_row(row)

    async def customer_by_external(self, channel: str, external_id: str) -> Customer | None:
        row = await self.fetch_one(
            "SELECT * FROM customers WHERE channel = ? AND external_id = ?", (channel, str(external_id))
        )
        return None if row is None else customer_from_row(row)

    async def set_customer_language(self, customer_id: int, language: str) -> None:
        await self.execute("UPDATE customers SET language = ? WHERE id = ?", (language, customer_id))

    async def set_blocked(self, customer_id: int, blocked: bool) -> bool:
        """Returns False when the customer does not exist."""
        changed = await self.execute(
            "UPDATE customers SET blocked = ? WHERE id = ?", (1 if blocked else 0, customer_id)
        )
        return changed > 0

    async def load_conversation(self, customer_id: int) -> str | None:
        row = await self.fetch_one("SELECT state FROM conversations WHERE customer_id = ?", (customer_id,))
        return None if row is None else str(row["state"])

    async def save_conversation(self, customer_id: int, state_json: str) -> None:
        await self.execute(
            "INSERT INTO conversations (customer_id, state, updated_at)"
            " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'))"
            " ON CONFLICT (customer_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (customer_id, state_json),
        )

    # --- messages -----------------------------------------------------------------------------------------

    async def record_inbound(
        self,
        customer_id: int,
        *,
        text: str,
        attachment: str | None,
        payload: str | None,
        channel_message_id: str | None,
        received_at: datetime,
    ) -> RecordedMessage:
        """Store a customer's message; a redelivered one (same channel message id) is reported, not stored."""
        if channel_message_id is not None:
            row = await self.fetch_one(
                "SELECT id FROM messages WHERE customer_id = ? AND channel_message_id = ? AND author = 'customer'",
                (customer_id, str(channel_message_id)),
            )
            if row is not None:
                return RecordedMessage(int(row["id"]), duplicate=True)
        message_id = await self.execute(
            "INSERT INTO messages (customer_id, author, text, attachment, payload, channel_message_id,"
            " created_at) VALUES (?, 'customer', ?, ?, ?, ?, ?)",
            (
                customer_id,
                text,
                attachment,
                payload,
                None if channel_message_id is None else str(channel_message_id),
                to_db_time(received_at),
            ),
        )
        return RecordedMessage(message_id, duplicate=False)

    async def mark_handled(
        self, message_id: int, *, analysis_json: str | None, ticket_id: int | None
    ) -> None:
        """The engine is done with this customer message: it will not be re-handled after a restart."""
        await self.execute(
            "UPDATE messages SET handled_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'),"
            " analysis = coalesce(?, analysis), ticket_id = coalesce(?, ticket_id) WHERE id = ?",
            (analysis_json, ticket_id, message_id),
        )

    async def unhandled_inbound(self, limit: int = 100) -> list[InboundRow]:
        rows = await self.fetch_all(
            "SELECT m.id AS message_id, m.text, m.attachment, m.payload, m.channel_message_id,"
            " m.created_at AS received_at, c.*"
            " FROM messages m JOIN customers c ON c.id = m.customer_id"
            " WHERE m.author = 'customer' AND m.handled_at IS NULL ORDER BY m.id LIMIT ?",
            (limit,),
        )
        return [
            InboundRow(
                id=row["message_id"],
                customer=customer_from_row(row),
                text=row["text"],
                attachment=row["attachment"],
                payload=row["payload"],
                channel_message_id=row["channel_message_id"],
                received_at=from_db_time(row["received_at"]),
            )
            for row in rows
        ]

    async def recent_customer_texts(self, customer_id: int, limit: int = 5) -> list[str]:
        rows = await self.fetch_all(
            "SELECT text FROM messages WHERE customer_id = ? AND author = 'customer' ORDER BY id DESC LIMIT ?",
            (customer_id, limit),
        )
        return [str(row["text"]) for row in reversed(rows)]

    async def message(self, message_id: int) -> StoredMessage | None:
        row = await self.fetch_one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return None if row is None else message_from_row(row)

    async def ticket_messages(self, ticket_id: int, *, context: int = 10) -> list[StoredMessage]:
        """Everything the customer and the ticket saw, preceded by up to ``context`` earlier messages.

        The ticket's span runs from its first message (or its creation) to its resolution (or now). In
        it come all of the customer's messages that belong to no other ticket — also the bot's, such as
        the hand-over acknowledgement, even where they carry no ticket id — besides the ticket's own
        (notes included). The earlier ones are what the bot tried before handing over, which staff want
        to see first.
        """
        ticket = await self.ticket(ticket_id)
        if ticket is None:
            return []
        first_row = await self.fetch_one(
            "SELECT min(id) AS id FROM messages WHERE ticket_id = ?", (ticket_id,)
        )
        first = None if first_row is None or first_row["id"] is None else int(first_row["id"])
        start_sql, start = (
            ("id >= ?", first)
            if first is not None
            else (
                "created_at >= ?",
                to_db_time(ticket.created_at),
            )
        )
        span_sql = (
            "SELECT * FROM messages WHERE ticket_id = ? OR (customer_id = ? AND ticket_id IS NULL"
            f" AND {start_sql}"
        )
        params: list[object] = [ticket_id, ticket.customer_id, start]
        if ticket.resolved_at is not None:
            span_sql += " AND created_at <= ?"
            params.append(to_db_time(ticket.resolved_at))
        rows = await self.fetch_all(span_sql + ") ORDER BY id", params)
        before_sql = "SELECT * FROM messages WHERE customer_id = ? AND ticket_id IS NULL AND " + (
            "id < ?" if first is not None else "created_at < ?"
        )
        before = await self.fetch_all(
            before_sql + " ORDER BY id DESC LIMIT ?", (ticket.customer_id, start, context)
        )
        return [message_from_row(row) for row in [*reversed(before), *rows]]

    # --- tickets ---------------------------------------------------------------------------------------------

    async def ticket(self, ticket_id: int) -> Ticket | None:
        row = await self.fetch_one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else ticket_from_row(row)

    async def require_ticket(self, ticket_id: int) -> Ticket:
        ticket = await self.ticket(ticket_id)
        if ticket is None:
            raise StorageError(f"no ticket #{ticket_id}")
        return ticket

    async def customer_tickets(self, customer_id: int) -> list[Ticket]:
        """All of a customer's tickets, newest first (staff see the history beside the current one)."""
        rows = await self.fetch_all(
            "SELECT * FROM tickets WHERE customer_id = ? ORDER BY id DESC", (customer_id,)
        )
        return [ticket_from_row(row) for row in rows]

    async def active_ticket(self, customer_id: int) -> Ticket | None:
        row = await self.fetch_one(
            "SELECT * FROM tickets WHERE customer_id = ? AND status <> 'resolved' ORDER BY id DESC LIMIT 1",
            (customer_id,),
        )
        return None if row is None else ticket_from_row(row)

    async def create_ticket(
        self,
        customer_id: int,
        *,
        reason: Reason,
        priority: Priority,
        anger: float,
        anger_reasons: Sequence[str],
        summary: str,
        first_message_id: int | None,
        now: datetime,
    ) -> Ticket:
        sla = self._sla[Priority(priority)]
        stamp = to_db_time(now)
        row = await self.fetch_one(
            "INSERT INTO tickets (customer_id, status, priority, reason, anger, anger_reasons, summary,"
            " created_at, waiting_since, first_response_due, resolution_due, updated_at)"
            " VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                customer_id,
                Priority(priority).value,
                Reason(reason).value,
                min(100.0, max(0.0, float(anger))),
                _json(list(anger_reasons)),
                summary,
                stamp,
                stamp,
                to_db_time(now + sla.first_response),
                to_db_time(now + sla.resolution),
                stamp,
            ),
        )
        assert row is not None
        ticket = ticket_from_row(row)
        if first_message_id is not None:
            await self.execute(
                "UPDATE messages SET ticket_id = ? WHERE id = ?", (ticket.id, first_message_id)
            )
        await self.add_event(
            ticket.id,
            "bot",
            "created",
            {"reason": ticket.reason.value, "priority": ticket.priority.value, "anger": ticket.anger},
            now,
        )
        return ticket

    async def attach_message(self, ticket_id: int, message_id: int, now: datetime) -> None:
        """A customer message joins the ticket; a snoozed or waiting ticket goes back to the queue."""
        await self.execute("UPDATE messages SET ticket_id = ? WHERE id = ?", (ticket_id, message_id))
        ticket = await self.ticket(ticket_id)
        if ticket is not None and ticket.status in (TicketStatus.SNOOZED, TicketStatus.WAITING):
            await self._back_to_queue(ticket, "customer", "customer_wrote", now)
        elif ticket is not None:
            await self.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (to_db_time(now), ticket_id))

    async def _back_to_queue(self, ticket: Ticket, actor: str, kind: str, now: datetime) -> None:
        """Status ``open``, no assignee, waiting from now: whoever is on duty takes it (see docs/queue.md)."""
        stamp = to_db_time(now)
        await self.execute(
            "UPDATE tickets SET status = 'open', assignee = NULL, snoozed_until = NULL, resolved_at = NULL,"
            " resolution = NULL, rating_asked_at = NULL, waiting_since = ?, updated_at = ? WHERE id = ?",
            (stamp, stamp, ticket.id),
        )
        await self.add_event(
            ticket.id,
            actor,
            kind,
            {"from": ticket.status.value, "previous_assignee": ticket.assignee},
            now,
        )

    async def claim(self, ticket_id: int, agent: str, now: datetime, *, force: bool = False) -> bool:
        """Exactly one of several agents wins: the update only matches while the ticket is unowned.

        ``force`` takes over a ticket someone else holds (an agent went home); it is logged as such.
        """
        stamp = to_db_time(now)
        condition = "status <> 'resolved'" if force else "status = 'open' AND assignee IS NULL"
        before = await self.ticket(ticket_id)
        if before is None:
            return False
        changed = await self.execute(
            "UPDATE tickets SET status = CASE WHEN status IN ('open', 'bot') THEN 'assigned' ELSE status END,"
            f" assignee = ?, updated_at = ? WHERE id = ? AND {condition}",
            (agent, stamp, ticket_id),
        )
        if changed:
            detail: dict[str, object] = {}
            if before.assignee and before.assignee != agent:
                detail["previous_assignee"] = before.assignee
            await self.add_event(ticket_id, agent, "claimed", detail or None, now)
        return changed > 0

    async def claim_next(self, agent: str, now: datetime) -> Ticket | None:
        """Claim the head of the queue (most urgent, then longest waiting); None when nothing is open.

        Inside ``BEGIN IMMEDIATE`` the pick and the claim cannot be separated by another agent, so
        agents who only ever take "the next one" never collide at all.
        """
        row = await self.fetch_one(
            "SELECT id FROM tickets WHERE status = 'open' AND assignee IS NULL"
            " ORDER BY priority_rank DESC, waiting_since, id LIMIT 1"
        )
        if row is None or not await self.claim(int(row["id"]), agent, now):
            return None
        return await self.ticket(int(row["id"]))

    async def mark_first_response(self, ticket_id: int, agent: str, now: datetime) -> None:
        """An agent answered: first response time (once), owner (if none), ``assigned`` if it was open."""
        stamp = to_db_time(now)
        await self.execute(
            "UPDATE tickets SET first_response_at = coalesce(first_response_at, ?),"
            " assignee = coalesce(assignee, ?),"
            " status = CASE WHEN status IN ('open', 'bot') THEN 'assigned' ELSE status END,"
            " updated_at = ? WHERE id = ?",
            (stamp, agent, stamp, ticket_id),
        )

    async def set_waiting(self, ticket_id: int, agent: str, now: datetime) -> None:
        await self.execute(
            "UPDATE tickets SET status = 'waiting', snoozed_until = NULL, updated_at = ?"
            " WHERE id = ? AND status <> 'resolved'",
            (to_db_time(now), ticket_id),
        )
        await self.add_event(ticket_id, agent, "waiting", None, now)

    async def snooze(self, ticket_id: int, agent: str, until: datetime, now: datetime) -> None:
        stamp = to_db_time(now)
        await self.execute(
            "UPDATE tickets SET status = 'snoozed', snoozed_until = ?, assignee = coalesce(assignee, ?),"
            " updated_at = ? WHERE id = ? AND status <> 'resolved'",
            (to_db_time(until), agent, stamp, ticket_id),
        )
        await self.add_event(ticket_id, agent, "snoozed", {"until": to_db_time(until)}, now)

    async def wake_snoozed(self, now: datetime) -> list[int]:
        """Snoozed tickets whose time has come go back to the queue, waiting since the snooze ended."""
        rows = await self.fetch_all(
            "SELECT * FROM tickets WHERE status = 'snoozed' AND snoozed_until <= ?", (to_db_time(now),)
        )
        for row in rows:
            ticket = ticket_from_row(row)
            assert ticket.snoozed_until is not None
            await self._back_to_queue(ticket, "bot", "snooze_ended", ticket.snoozed_until)
        return [int(row["id"]) for row in rows]

    async def resolve(
        self,
        ticket_id: int,
        agent: str,
        now: datetime,
        *,
        resolution: str = Resolution.RESOLVED,
        ask_rating: bool = True,
        event: str | None = None,
    ) -> bool:
        """Close the ticket; False when it was already resolved (nothing changes then).

        ``event`` names the logged event when it says more than ``resolution`` (a forgotten customer's
        tickets close as ``blocked``, the nearest resolution, but the log says ``forgotten``)."""
        stamp = to_db_time(now)
        changed = await self.execute(
            "UPDATE tickets SET status = 'resolved', resolved_at = ?, resolution = ?, snoozed_until = NULL,"
            " assignee = coalesce(assignee, ?), rating_asked_at = ?, updated_at = ?"
            " WHERE id = ? AND status <> 'resolved'",
            (stamp, resolution, agent, stamp if ask_rating else None, stamp, ticket_id),
        )
        if changed:
            await self.add_event(ticket_id, agent, event or resolution, None, now)
        return changed > 0

    async def withdraw(self, ticket_id: int, now: datetime) -> bool:
        """The customer closed their own request; no assignee is invented and no rating is asked.

        False when the ticket was already closed (nothing changes then)."""
        stamp = to_db_time(now)
        changed = await self.execute(
            "UPDATE tickets SET status = 'resolved', resolved_at = ?, resolution = ?, snoozed_until = NULL,"
            " rating_asked_at = NULL, updated_at = ? WHERE id = ? AND status <> 'resolved'",
            (stamp, Resolution.WITHDRAWN, stamp, ticket_id),
        )
        if changed:
            await self.add_event(ticket_id, "customer", Resolution.WITHDRAWN, None, now)
        return changed > 0

    async def raise_priority(
        self, ticket_id: int, priority: Priority, now: datetime, *, anger: float, why: str
    ) -> Priority | None:
        """Move an active ticket up to ``priority`` (never down); the previous priority, or None if not.

        The SLA due times follow, counted from the ticket's creation as if it had been created with the
        new priority (a shorter target only: a raise never grants more time). The ticket keeps the
        highest anger seen, and the event ``priority_raised`` says from what, to what and why.
        """
        ticket = await self.ticket(ticket_id)
        target = Priority(priority)
        if ticket is None or ticket.status is TicketStatus.RESOLVED or ticket.priority.rank >= target.rank:
            return None
        sla = self._sla[target]
        await self.execute(
            "UPDATE tickets SET priority = ?, anger = max(anger, ?),"
            " first_response_due = min(first_response_due, ?), resolution_due = min(resolution_due, ?),"
            " updated_at = ? WHERE id = ?",
            (
                target.value,
                min(100.0, max(0.0, float(anger))),
                to_db_time(ticket.created_at + sla.first_response),
                to_db_time(ticket.created_at + sla.resolution),
                to_db_time(now),
                ticket_id,
            ),
        )
        detail = {"from": ticket.priority.value, "to": target.value, "why": why}
        await self.add_event(ticket_id, "bot", "priority_raised", detail, now)
        return ticket.priority

    async def reopen(self, ticket_id: int, agent: str, now: datetime) -> None:
        ticket = await self.require_ticket(ticket_id)
        await self._back_to_queue(ticket, agent, "reopened", now)

    async def add_note(self, ticket_id: int, agent: str, text: str, now: datetime) -> int:
        """An internal note: a private agent message on the ticket, never sent to the customer."""
        ticket = await self.require_ticket(ticket_id)
        message_id = await self.execute(
            "INSERT INTO messages (customer_id, ticket_id, author, agent, private, text, created_at)"
            " VALUES (?, ?, 'agent', ?, 1, ?, ?)",
            (ticket.customer_id, ticket_id, agent, text, to_db_time(now)),
        )
        await self.add_event(ticket_id, agent, "note", {"message_id": message_id}, now)
        return message_id

    async def wait_estimate(self, priority: Priority, now: datetime) -> float | None:
        """Minutes until a human answers a ticket of ``priority`` created ``now``; None without enough data.

        ``median(recent first-response minutes) * (1 + ahead / agents)``, where *ahead* counts open
        tickets of the same or higher priority already waiting and *agents* those who acted on a ticket
        within the last hour (at least one). The median already contains a typical queue; the factor
        stretches it when today's queue is long for the staff on duty. With fewer than
        ``FIRST_RESPONSE_MINIMUM`` recent first responses the answer is None: the customer is told the wait
        is unknown rather than a number drawn from one lucky (or unlucky) ticket.
        """
        rows = await self.fetch_all(
            "SELECT created_at, first_response_at FROM tickets"
            " WHERE first_response_at IS NOT NULL AND created_at >= ? ORDER BY first_response_at DESC LIMIT ?",
            (to_db_time(now - FIRST_RESPONSE_HORIZON), FIRST_RESPONSE_SAMPLE),
        )
        minutes = [
            max(
                0.0,
                (from_db_time(r["first_response_at"]) - from_db_time(r["created_at"])).total_seconds() / 60,
            )
            for r in rows
        ]
        middle = median(minutes)
        if middle is None or len(minutes) < FIRST_RESPONSE_MINIMUM:
            return None
        ahead_row = await self.fetch_one(
            "SELECT count(*) AS n FROM tickets WHERE status = 'open' AND priority_rank >= ? AND waiting_since < ?",
            (Priority(priority).rank, to_db_time(now)),
        )
        agents_row = await self.fetch_one(
            "SELECT count(DISTINCT actor) AS n FROM events WHERE created_at >= ?"
            " AND actor NOT IN ('bot', 'customer') AND kind IN ('claimed', 'reply', 'note', 'resolved')",
            (to_db_time(now - ACTIVE_AGENT_WINDOW),),
        )
        ahead = int(ahead_row["n"]) if ahead_row else 0
        agents = max(1, int(agents_row["n"]) if agents_row else 0)
        return middle * (1 + ahead / agents)

    # --- ratings -----------------------------------------------------------------------------------------

    async def pending_rating(self, customer_id: int, now: datetime) -> int | None:
        row = await self.fetch_one(
            "SELECT t.id FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id"
            " WHERE t.customer_id = ? AND t.status = 'resolved' AND t.rating_asked_at IS NOT NULL"
            " AND t.rating_asked_at >= ? AND r.ticket_id IS NULL ORDER BY t.rating_asked_at DESC LIMIT 1",
            (customer_id, to_db_time(now - RATING_WINDOW)),
        )
        return None if row is None else int(row["id"])

    async def record_rating(self, ticket_id: int, rating: int, now: datetime, *, customer_id: int) -> bool:
        """Store a 1-5 answer for the agent who resolved the ticket; False if not asked, late or repeated,
        or when ``customer_id`` (who is answering) is not the ticket's customer.

        The one place that decides whether a rating counts: ticket numbers are sequential and shown to
        customers, so a ``rate:<n>:1`` button payload can name anybody's ticket. Only the ticket's own
        customer rates it, once; a forged rating therefore cannot use up the real customer's one answer.
        """
        if not 1 <= int(rating) <= 5:
            return False
        ticket = await self.ticket(ticket_id)
        if (
            ticket is None
            or ticket.customer_id != customer_id
            or ticket.status is not TicketStatus.RESOLVED
            or ticket.rating_asked_at is None
            or now - ticket.rating_asked_at > RATING_WINDOW
        ):
            return False
        row = await self.fetch_one(
            "INSERT INTO ratings (ticket_id, rating, agent, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id",
            (ticket_id, int(rating), ticket.assignee, to_db_time(now)),
        )
        if row is None:
            return False
        await self.add_event(ticket_id, "customer", "rated", {"rating": int(rating)}, now)
        return True

    # --- events --------------------------------------------------------------------------------------------

    async def add_event(
        self, ticket_id: int | None, actor: str, kind: str, detail: Mapping[str, object] | None, now: datetime
    ) -> None:
        await self.execute(
            "INSERT INTO events (ticket_id, actor, kind, detail, created_at) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, actor, kind, None if detail is None else _json(dict(detail)), to_db_time(now)),
        )

    async def ticket_events(self, ticket_id: int) -> list[Event]:
        rows = await self.fetch_all("SELECT * FROM events WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        return [event_from_row(row) for row in rows]

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
        message_id = await self.execute(
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
        return await self.execute(
            "INSERT INTO outbox (channel, kind, customer_id, message_id, ticket_id, dedup_key,"
            " next_attempt_at, created_at) VALUES (?, 'message', ?, ?, ?, ?, ?, ?)",
            (customer.channel, customer_id, message_id, ticket_id, dedup_key, stamp, stamp),
        )

    async def enqueue_staff(
        self, kind: str, ticket_id: int, payload: Mapping[str, object], now: datetime
    ) -> int:
        """A notification for the staff channel (the Telegram staff group); delivered like any message."""
        stamp = to_db_time(now)
        return await self.execute(
            "INSERT INTO outbox (channel, kind, ticket_id, payload, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (STAFF_CHANNEL, kind, ticket_id, _json(dict(payload)), stamp, stamp),
        )

    async def due_outbox(
        self, channel: str, *, now: datetime, limit: int = 50, first_kind: str | None = None
    ) -> list[OutboxItem]:
        """Pending items whose time has come, oldest first (items of ``first_kind`` ahead of all others).

        An item waits while an older item to the same customer is pending but not yet due (a retry
        scheduled later): customers must read replies in the order they were written.
        """
        rows = await self.fetch_all(
            "SELECT o.*, coalesce(m.text, '') AS text, coalesce(m.buttons, '[]') AS buttons,"
            " coalesce(c.external_id, '') AS recipient, m.author AS author"
            " FROM outbox o LEFT JOIN messages m ON m.id = o.message_id"
            " LEFT JOIN customers c ON c.id = o.customer_id"
            " WHERE o.channel = ? AND o.status = 'pending' AND o.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.customer_id = o.customer_id"
            "   AND e.status = 'pending' AND e.id < o.id AND e.next_attempt_at > ?)"
            " ORDER BY o.kind IS ? DESC, o.id LIMIT ?",
            (channel, to_db_time(now), to_db_time(now), first_kind, limit),
        )
        return [
            OutboxItem(
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
            for row in rows
        ]

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
            " status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END,"
            " next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ? AND status = 'pending'",
            (
                error[:1000],
                None if retry_at is None else 1,
                None if retry_at is None else to_db_time(retry_at),
                outbox_id,
            ),
        )
        await self._sending_done(outbox_id)

    # --- in-flight marks: a crash during a channel call resends that one row once, and counts it -------

    async def mark_sending(self, outbox_id: int, now: datetime) -> bool:
        """Mark a pending row as being handed to its channel, committed before the call is made.

        False when the row is no longer pending or already marked (another round took it): the caller
        must not send it then.
        """
        row = await self.fetch_one("SELECT status FROM outbox WHERE id = ?", (outbox_id,))
        if row is None or row["status"] != "pending":
            return False
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
        self, channels: Sequence[str], now: datetime, *, recipients: Sequence[str] | None = None
    ) -> list[Interrupted]:
        """Rows of ``channels`` marked as being sent by a process that is gone: they may or may not have
        arrived. Each is made due again (sent once more: at-least-once) and its ``resends`` counted; after
        :data:`MAX_RESENDS` interruptions it is parked as failed instead. Call before the first round.

        ``recipients`` limits this to some customers (a terminal chat serves exactly one).
        """
        marks = ",".join("?" for _ in channels)
        rows = await self.fetch_all(
            "SELECT s.outbox_id, s.resends, coalesce(c.external_id, '') AS recipient FROM outbox_sending s"
            " JOIN outbox o ON o.id = s.outbox_id LEFT JOIN customers c ON c.id = o.customer_id"
            f" WHERE s.sending_since IS NOT NULL AND o.status = 'pending' AND o.channel IN ({marks})"
            " ORDER BY s.outbox_id",
            list(channels),
        )
        found: list[Interrupted] = []
        for row in rows:
            if recipients is not None and row["recipient"] not in recipients:
                continue
            resends = int(row["resends"]) + 1
            gave_up = resends > MAX_RESENDS
            await self.execute(
                "UPDATE outbox_sending SET sending_since = NULL, resends = ? WHERE outbox_id = ?",
                (resends, row["outbox_id"]),
            )
            if gave_up:
                await self.execute(
                    "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'",
                    (
                        f"interrupted while being sent {resends} times; not sent again (it may have"
                        " arrived already)",
                        row["outbox_id"],
                    ),
                )
            found.append(Interrupted(int(row["outbox_id"]), resends, gave_up))
        return found

    async def delivery_marks(self) -> tuple[int, int]:
        """``(rows being sent right now, resends ever counted)``, for ``db status`` and the stats."""
        row = await self.fetch_one(
            "SELECT count(sending_since) AS sending, coalesce(sum(resends), 0) AS resends FROM outbox_sending"
        )
        return (int(row["sending"]), int(row["resends"])) if row else (0, 0)

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

    # --- staff-channel bookkeeping ---------------------------------------------------------------------

    async def set_ticket_thread(self, ticket_id: int, channel: str, thread_id: str | int) -> None:
        await self.execute(
            "INSERT INTO ticket_threads (ticket_id, channel, thread_id, created_at)"
            " VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'))"
            " ON CONFLICT (ticket_id, channel) DO UPDATE SET thread_id = excluded.thread_id",
            (ticket_id, channel, str(thread_id)),
        )

    async def ticket_thread(self, ticket_id: int, channel: str) -> str | None:
        row = await self.fetch_one(
            "SELECT thread_id FROM ticket_threads WHERE ticket_id = ? AND channel = ?", (ticket_id, channel)
        )
        return None if row is None else str(row["thread_id"])

    async def ticket_by_thread(self, channel: str, thread_id: str | int) -> Ticket | None:
        row = await self.fetch_one(
            "SELECT t.* FROM ticket_threads h JOIN tickets t ON t.id = h.ticket_id"
            " WHERE h.channel = ? AND h.thread_id = ?",
            (channel, str(thread_id)),
        )
        return None if row is None else ticket_from_row(row)

    async def link_messages(
        self, message_id: int, channel: str, external_chat_id: str | int, external_message_id: str | int
    ) -> None:
        await self.execute(
            "INSERT INTO message_links (channel, external_chat_id, external_message_id, message_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET message_id = excluded.message_id",
            (channel, str(external_chat_id), str(external_message_id), message_id),
        )

    async def record_staff_post(
        self,
        ticket_id: int,
        channel: str,
        chat_id: str | int,
        message_id: str | int,
        kind: str,
        now: datetime,
    ) -> None:
        """A message the bot posted into a staff channel about ``ticket_id`` (``card``, ``post``, ``copy``):
        remembered so that forgetting the customer can delete it there."""
        await self.execute(
            "INSERT INTO staff_posts (channel, chat_id, message_id, ticket_id, kind, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, str(chat_id), str(message_id), ticket_id, kind, to_db_time(now)),
        )

    async def linked_copy_of_delivered(
        self, channel: str, external_id: str, delivered_message_id: str | int, link_channel: str
    ) -> str | None:
        """Where a message the bot delivered to a customer was written: the id of its linked copy in
        ``link_channel`` (a staff reply's message in its ticket topic), found through storage alone.

        ``delivered_message_id`` is the id the customer's channel gave the delivered copy
        (``messages.channel_message_id``). Lets a customer's reply to an old staff answer thread under the
        staff member's message even after a restart."""
        row = await self.fetch_one(
            "SELECT l.external_message_id FROM customers c"
            " JOIN messages m ON m.customer_id = c.id"
            " JOIN message_links l ON l.message_id = m.id AND l.channel = ?"
            " WHERE c.channel = ? AND c.external_id = ? AND m.channel_message_id = ? AND m.author != 'customer'"
            " ORDER BY m.id DESC LIMIT 1",
            (link_channel, channel, str(external_id), str(delivered_message_id)),
        )
        return None if row is None else str(row["external_message_id"])

    async def message_by_external(
        self, channel: str, external_chat_id: str | int, external_message_id: str | int
    ) -> StoredMessage | None:
        row = await self.fetch_one(
            "SELECT m.* FROM message_links l JOIN messages m ON m.id = l.message_id"
            " WHERE l.channel = ? AND l.external_chat_id = ? AND l.external_message_id = ?",
            (channel, str(external_chat_id), str(external_message_id)),
        )
        return None if row is None else message_from_row(row)


def _expose(
    method: Callable[Concatenate[Tx, P], Awaitable[R]], *, read_only: bool = False
) -> Callable[Concatenate[Database, P], Awaitable[R]]:
    """Expose a :class:`Tx` method on :class:`Database`, running in a transaction of its own.

    ``read_only`` methods run in a snapshot, so they never wait for the write lock.
    """

    async def wrapper(self: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self.snapshot() if read_only else self.transaction() as tx:
            return await method(tx, *args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__qualname__ = f"Database.{method.__name__}"
    wrapper.__doc__ = method.__doc__
    return wrapper


class Database:
    """The bot's storage. ``async with await Database.open(path) as db:`` or call :meth:`close`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, sla: Mapping[Priority, SlaPolicy]) -> None:
        self._conn = conn
        self.path = path
        self.sla = sla
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._closed = False
        self._undoing: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        sla: Mapping[Priority, SlaPolicy] | None = None,
        migrate_schema: bool = True,
        synchronous: str = "FULL",
    ) -> Database:
        """Open (creating the file and its folder), set the pragmas and bring the schema up to date.

        ``synchronous="NORMAL"`` trades the last commits on power loss (never on a crash of the process)
        for speed; only the benchmark uses it, to show what the fsync costs.
        """
        path = Path(path)
        try:
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = await connect(path, synchronous=synchronous)
        except (sqlite3.DatabaseError, OSError) as error:
            raise StorageError(f"cannot open the database {path}: {error}") from error
        try:
            if migrate_schema:
                await migrate(conn)
        except sqlite3.DatabaseError as error:
            await conn.close()
            raise StorageError(f"cannot open the database {path}: {error}") from error
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path, sla or DEFAULT_SLA)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._undoing is not None:  # let a cancelled caller's BEGIN be rolled back first
                await asyncio.gather(self._undoing, return_exceptions=True)
            await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` when the block raises."""
        async with self._exclusive():
            await self._begin("BEGIN IMMEDIATE")
            tx = Tx(self._conn, self.sla)
            try:
                yield tx
            except BaseException:
                tx._open = False
                await self._conn.rollback()
                raise
            tx._open = False
            await self._conn.commit()

    async def _begin(self, statement: str) -> None:
        """``BEGIN``, safe against the caller being cancelled while SQLite works on it.

        aiosqlite runs the statement in its thread whether or not the awaiting task is still there. A
        transaction begun for a task cancelled meanwhile (a browser closing an event stream, a WebSocket
        dropping) would stay open on the shared connection, and every later ``BEGIN`` would fail with
        "cannot start a transaction within a transaction". So the cancelled BEGIN is rolled back in a task
        of its own, and the next transaction waits for that first.
        """
        if self._undoing is not None:
            await asyncio.shield(self._undoing)
            self._undoing = None
        started = asyncio.ensure_future(self._conn.execute(statement))
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            self._undoing = asyncio.ensure_future(self._undo(started))
            raise

    async def _undo(self, started: asyncio.Future[aiosqlite.Cursor]) -> None:
        try:
            await started
        except Exception:
            return  # the BEGIN itself failed: no transaction to end
        await self._conn.rollback()

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """The connection for one task at a time; nesting in the same task fails instead of hanging."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            raise StorageError("nested transaction: use the Tx you already hold, not the Database")
        if self._closed:
            raise StorageError("database is closed")
        async with self._lock:
            self._owner = task
            try:
                yield
            finally:
                self._owner = None

    @asynccontextmanager
    async def erasing(self) -> AsyncIterator[Tx]:
        """A transaction for erasing personal data that leaves no copy of it in the file or the WAL.

        ``secure_delete`` makes SQLite overwrite the bytes it frees (old row versions, index entries,
        overflow pages) with zeros instead of leaving them in free space; after the commit a
        ``wal_checkpoint(TRUNCATE)`` copies the new pages into the database file and empties the WAL, which
        until then still held every erased value in its earlier frames. The checkpoint waits (busy timeout)
        for a running bot's readers; :attr:`last_checkpoint` says whether it completed.
        """
        await self._conn.execute("PRAGMA secure_delete = ON")
        try:
            async with self.transaction() as tx:
                yield tx
            async with self._exclusive(), self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                row = await cursor.fetchone()
            self.last_checkpoint = None if row is None else (int(row[0]), int(row[1]), int(row[2]))
        finally:
            await self._conn.execute("PRAGMA secure_delete = OFF")

    last_checkpoint: tuple[int, int, int] | None = None
    """``(busy, wal frames, checkpointed frames)`` of the last :meth:`erasing`; busy 0 means the WAL is empty."""

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A read-only transaction: one consistent view that never blocks (or waits for) writers."""
        async with self._exclusive():
            await self._begin("BEGIN")
            tx = Tx(self._conn, self.sla)
            try:
                yield tx
            finally:
                tx._open = False
                await self._conn.rollback()

    upsert_customer = _expose(Tx.upsert_customer)
    customer = _expose(Tx.customer, read_only=True)
    customer_by_external = _expose(Tx.customer_by_external, read_only=True)
    set_customer_language = _expose(Tx.set_customer_language)
    set_blocked = _expose(Tx.set_blocked)
    load_conversation = _expose(Tx.load_conversation, read_only=True)
    save_conversation = _expose(Tx.save_conversation)
    record_inbound = _expose(Tx.record_inbound)
    mark_handled = _expose(Tx.mark_handled)
    unhandled_inbound = _expose(Tx.unhandled_inbound, read_only=True)
    recent_customer_texts = _expose(Tx.recent_customer_texts, read_only=True)
    message = _expose(Tx.message, read_only=True)
    ticket_messages = _expose(Tx.ticket_messages, read_only=True)
    ticket = _expose(Tx.ticket, read_only=True)
    customer_tickets = _expose(Tx.customer_tickets, read_only=True)
    active_ticket = _expose(Tx.active_ticket, read_only=True)
    create_ticket = _expose(Tx.create_ticket)
    attach_message = _expose(Tx.attach_message)
    claim = _expose(Tx.claim)
    claim_next = _expose(Tx.claim_next)
    wake_snoozed = _expose(Tx.wake_snoozed)
    wait_estimate = _expose(Tx.wait_estimate, read_only=True)
    pending_rating = _expose(Tx.pending_rating, read_only=True)
    record_rating = _expose(Tx.record_rating)
    add_event = _expose(Tx.add_event)
    ticket_events = _expose(Tx.ticket_events, read_only=True)
    enqueue_outbound = _expose(Tx.enqueue_outbound)
    enqueue_staff = _expose(Tx.enqueue_staff)
    due_outbox = _expose(Tx.due_outbox, read_only=True)
    mark_sent = _expose(Tx.mark_sent)
    mark_failed = _expose(Tx.mark_failed)
    mark_sending = _expose(Tx.mark_sending)
    recover_sending = _expose(Tx.recover_sending)
    delivery_marks = _expose(Tx.delivery_marks, read_only=True)
    store_updates = _expose(Tx.store_updates)
    pending_updates = _expose(Tx.pending_updates, read_only=True)
    finish_update = _expose(Tx.finish_update)
    poison_update = _expose(Tx.poison_update)
    prune_updates = _expose(Tx.prune_updates)
    inbox_counts = _expose(Tx.inbox_counts, read_only=True)
    set_ticket_thread = _expose(Tx.set_ticket_thread)
    ticket_thread = _expose(Tx.ticket_thread, read_only=True)
    ticket_by_thread = _expose(Tx.ticket_by_thread, read_only=True)
    link_messages = _expose(Tx.link_messages)
    record_staff_post = _expose(Tx.record_staff_post)
    message_by_external = _expose(Tx.message_by_external, read_only=True)
    linked_copy_of_delivered = _expose(Tx.linked_copy_of_delivered, read_only=True)


async def _switch_to_wal(conn: aiosqlite.Connection) -> sqlite3.Row | None:
    """``PRAGMA journal_mode = WAL``, retried: on a brand-new file opened by several processes at once
    (the bot and a staff CLI starting together) SQLite can answer "database is locked" at once, without
    consulting the busy handler, while another connection converts the file."""
    for attempt in range(100):
        try:
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                return await cursor.fetchone()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            await asyncio.sleep(0.05)
    return None


async def connect(path: Path, *, synchronous: str = "FULL") -> aiosqlite.Connection:
    """A connection in autocommit mode with the project's pragmas; the caller closes it."""
    conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = await _switch_to_wal(conn)
        if str(path) != ":memory:" and (row is None or str(row[0]).lower() != "wal"):
            raise StorageError(f"could not switch {path} to WAL journal mode (got {row and row[0]!r})")
        if synchronous.upper() not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        await conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()
        raise
    return conn
