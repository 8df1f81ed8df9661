"""Read models for staff (queue, ticket detail, statistics) and the privacy operations (export, forget).

They take a :class:`Tx` so the caller picks the transaction: a snapshot for reading, ``BEGIN IMMEDIATE``
for forgetting. Nothing here is on the customer's hot path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.model import Priority, TicketStatus
from bot.storage.database import Tx
from bot.storage.outbox import STAFF_CHANNEL
from bot.storage.records import Customer, Event, Resolution, StoredMessage, Ticket, from_db_time, to_db_time
from bot.storage.rows import Row, customer_from_row, median, ticket_from_row
from bot.storage.tickets import ACTIVE_STATUSES
from bot.storage.transaction import marks

CONVERSATION_GAP = timedelta(hours=24)
"""Customer messages further apart than this belong to different conversations (for the bot-resolved share)."""

FORGOTTEN_NAME = "(forgotten)"
FORGET_NOTIFICATION = "customer_forgotten"
"""Staff-channel outbox kind: rename and close the ticket's topic, delete the bot's posts there."""

CLOSED_KINDS = (Resolution.RESOLVED, Resolution.HANDED_BACK, Resolution.WITHDRAWN, Resolution.BLOCKED)
"""How a ticket can end, in the order reports list them; only the first is a resolution by staff."""


@dataclass(frozen=True, slots=True)
class QueueEntry:
    ticket: Ticket
    customer: Customer
    waited: timedelta
    """Since the customer started waiting in the current spell (``waiting_since``)."""
    last_customer_text: str
    overdue: bool
    """Active, no first response yet and the first-response due time has passed."""


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: Ticket
    customer: Customer
    messages: list[StoredMessage]
    events: list[Event]
    rating: int | None
    undelivered: list[tuple[int, str, str | None]]
    """``(outbox id, status, last error)`` of replies not (yet) delivered."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    days: int
    active_by_priority: dict[str, dict[str, int]]
    """Priority -> status -> count, active tickets only."""
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    conversations: int
    bot_resolved: int
    """Conversations in which the bot answered at least one question and no ticket was opened."""
    ratings: int
    csat_average: float | None
    overdue_first_response: int
    outbox_pending: int
    """Replies to customers not delivered yet (staff notifications not counted)."""
    outbox_failed: int
    questions_answered: int = 0
    """Customer messages the bot answered itself (with or without a ticket around them)."""
    closed: dict[str, int] | None = None
    """Tickets closed in the period by how they ended: ``resolved`` (by staff), ``handed_back``,
    ``withdrawn`` (by the customer), ``blocked``. Only ``resolved`` counts as a resolution."""
    outbox_resent: int = 0
    """Replies sent once more because the bot stopped while sending them (each may have arrived twice)."""

    @property
    def bot_resolved_share(self) -> float | None:
        return None if self.conversations == 0 else self.bot_resolved / self.conversations


async def queue_entries(
    tx: Tx,
    now: datetime,
    *,
    statuses: Sequence[str] = ACTIVE_STATUSES,
    assignee: str | None = None,
    limit: int = 200,
) -> list[QueueEntry]:
    """Active tickets in queue order: most urgent first, then whoever has waited longest."""
    placeholders = marks(statuses)
    sql = (
        "SELECT t.*, c.id AS c_id, c.channel AS c_channel, c.external_id AS c_external_id,"
        " c.display_name AS c_display_name, c.language AS c_language, c.blocked AS c_blocked,"
        " (SELECT m.text FROM messages m WHERE m.customer_id = t.customer_id AND m.author = 'customer'"
        "  ORDER BY m.id DESC LIMIT 1) AS last_text"
        f" FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.status IN ({placeholders})"
    )
    params: list[object] = list(statuses)
    if assignee is not None:
        sql += " AND t.assignee = ?"
        params.append(assignee)
    sql += " ORDER BY t.priority_rank DESC, t.waiting_since, t.id LIMIT ?"
    params.append(limit)
    entries = []
    for row in await tx.fetch_all(sql, params):
        ticket = ticket_from_row(row)
        customer = customer_from_row(row, "c_")
        entries.append(
            QueueEntry(
                ticket=ticket,
                customer=customer,
                waited=max(timedelta(0), now - ticket.waiting_since),
                last_customer_text=row["last_text"] or "",
                overdue=ticket.status is not TicketStatus.RESOLVED
                and ticket.first_response_at is None
                and ticket.first_response_due <= now,
            )
        )
    return entries


async def ticket_detail(tx: Tx, ticket_id: int) -> TicketDetail | None:
    ticket = await tx.ticket(ticket_id)
    if ticket is None:
        return None
    customer = await tx.customer(ticket.customer_id)
    assert customer is not None
    rating = await tx.fetch_one("SELECT rating FROM ratings WHERE ticket_id = ?", (ticket_id,))
    undelivered = await tx.fetch_all(
        "SELECT id, status, last_error FROM outbox WHERE ticket_id = ? AND kind = 'message'"
        " AND status <> 'sent' ORDER BY id",
        (ticket_id,),
    )
    return TicketDetail(
        ticket=ticket,
        customer=customer,
        messages=await tx.ticket_messages(ticket_id),
        events=await tx.ticket_events(ticket_id),
        rating=None if rating is None else int(rating["rating"]),
        undelivered=[(int(r["id"]), str(r["status"]), r["last_error"]) for r in undelivered],
    )


async def stats(tx: Tx, now: datetime, *, days: int = 30) -> QueueStats:
    since = to_db_time(now - timedelta(days=days))
    active: dict[str, dict[str, int]] = {priority.value: {} for priority in reversed(Priority)}
    for row in await tx.fetch_all(
        "SELECT priority, status, count(*) AS n FROM tickets WHERE status <> 'resolved' GROUP BY 1, 2"
    ):
        active[row["priority"]][row["status"]] = int(row["n"])

    first = await tx.fetch_all(
        "SELECT created_at, first_response_at FROM tickets WHERE first_response_at IS NOT NULL"
        " AND created_at >= ?",
        (since,),
    )
    resolved = await tx.fetch_all(
        "SELECT created_at, resolved_at FROM tickets WHERE status = 'resolved' AND resolution = ?"
        " AND resolved_at >= ?",
        (Resolution.RESOLVED, since),
    )

    def _span(rows: list[Row], end: str) -> timedelta | None:
        seconds = median(
            [(from_db_time(r[end]) - from_db_time(r["created_at"])).total_seconds() for r in rows]
        )
        return None if seconds is None else timedelta(seconds=seconds)

    conversations = bot_resolved = answered_total = 0
    # A conversation: one customer's messages with no gap over CONVERSATION_GAP. It was resolved by the
    # bot alone when the bot answered something in it and none of its messages joined a ticket.
    current: tuple[int, datetime, bool, bool] | None = None  # customer, last time, needed a human, answered
    for row in await tx.fetch_all(
        "SELECT customer_id, created_at, ticket_id IS NOT NULL AS human,"
        f" {tx.dialect.answered_count('analysis')} AS answered"
        " FROM messages WHERE author = 'customer' AND created_at >= ? ORDER BY customer_id, created_at, id",
        (since,),
    ):
        at = from_db_time(row["created_at"])
        answered = int(row["answered"]) > 0
        answered_total += answered
        if current is None or current[0] != row["customer_id"] or at - current[1] > CONVERSATION_GAP:
            if current is not None:
                conversations += 1
                bot_resolved += current[3] and not current[2]
            current = (int(row["customer_id"]), at, bool(row["human"]), answered)
        else:
            current = (current[0], at, current[2] or bool(row["human"]), current[3] or answered)
    if current is not None:
        conversations += 1
        bot_resolved += current[3] and not current[2]

    closed = {kind: 0 for kind in CLOSED_KINDS}
    for row in await tx.fetch_all(
        "SELECT resolution, count(*) AS n FROM tickets WHERE status = 'resolved' AND resolved_at >= ?"
        " GROUP BY resolution",
        (since,),
    ):
        closed[str(row["resolution"])] = int(row["n"])

    rating_row = await tx.fetch_one(
        "SELECT count(*) AS n, avg(rating) AS mean FROM ratings WHERE created_at >= ?", (since,)
    )
    overdue = await tx.fetch_one(
        "SELECT count(*) AS n FROM tickets WHERE status <> 'resolved' AND first_response_at IS NULL"
        " AND first_response_due <= ?",
        (to_db_time(now),),
    )
    outbox = {
        row["status"]: int(row["n"])
        for row in await tx.fetch_all(
            "SELECT status, count(*) AS n FROM outbox WHERE status <> 'sent' AND kind = 'message' GROUP BY status"
        )
    }
    resent = await tx.fetch_one(
        "SELECT coalesce(sum(s.resends), 0) AS n FROM outbox_sending s JOIN outbox o ON o.id = s.outbox_id"
        " WHERE o.kind = 'message'"
    )
    return QueueStats(
        days=days,
        active_by_priority=active,
        median_first_response=_span(first, "first_response_at"),
        median_resolution=_span(resolved, "resolved_at"),
        conversations=conversations,
        bot_resolved=bot_resolved,
        ratings=int(rating_row["n"]) if rating_row else 0,
        csat_average=None if not rating_row or rating_row["mean"] is None else float(rating_row["mean"]),
        overdue_first_response=int(overdue["n"]) if overdue else 0,
        outbox_pending=outbox.get("pending", 0),
        outbox_failed=outbox.get("failed", 0),
        questions_answered=answered_total,
        closed=closed,
        outbox_resent=int(resent["n"]) if resent else 0,
    )


async def find_customer(tx: Tx, reference: str) -> Customer | None:
    """A customer by number (``12`` or ``#12``, as lists print it) or by ``channel:external_id``
    (``telegram:123456``)."""
    reference = reference.strip()
    number = reference.removeprefix("#")
    if number.isdigit():
        return await tx.customer(int(number))
    channel, sep, external = reference.partition(":")
    if not sep:
        return None
    return await tx.customer_by_external(channel, external)


async def export_customer(tx: Tx, customer_id: int) -> dict[str, object] | None:
    """Everything stored about one customer, as JSON-ready data (the right of access)."""
    row = await tx.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
    if row is None:
        return None

    async def rows(sql: str, *params: object) -> list[dict[str, object]]:
        result = []
        for found in await tx.fetch_all(sql, params):
            item = dict(found)
            for key in ("analysis", "buttons", "detail", "anger_reasons", "state"):
                value = item.get(key)
                if isinstance(value, str):
                    item[key] = json.loads(value)
            result.append(item)
        return result

    ticket_ids = "SELECT id FROM tickets WHERE customer_id = ?"
    return {
        "customer": dict(row),
        "conversation": await rows("SELECT * FROM conversations WHERE customer_id = ?", customer_id),
        "tickets": await rows("SELECT * FROM tickets WHERE customer_id = ? ORDER BY id", customer_id),
        "messages": await rows("SELECT * FROM messages WHERE customer_id = ? ORDER BY id", customer_id),
        "events": await rows(
            f"SELECT * FROM events WHERE ticket_id IN ({ticket_ids}) ORDER BY id", customer_id
        ),
        "ratings": await rows(f"SELECT * FROM ratings WHERE ticket_id IN ({ticket_ids})", customer_id),
        "outbox": await rows(
            "SELECT id, channel, kind, message_id, ticket_id, status, attempts, last_error, created_at, sent_at"
            " FROM outbox WHERE customer_id = ? ORDER BY id",
            customer_id,
        ),
        "message_links": await rows(
            "SELECT l.* FROM message_links l JOIN messages m ON m.id = l.message_id WHERE m.customer_id = ?",
            customer_id,
        ),
    }


async def forgotten_at(tx: Tx, customer_id: int) -> datetime | None:
    """When the customer's personal data was erased; None if it was not (or there is no such customer)."""
    row = await tx.fetch_one("SELECT forgotten_at FROM customers WHERE id = ?", (customer_id,))
    return None if row is None or row["forgotten_at"] is None else from_db_time(row["forgotten_at"])


async def forget_customer(tx: Tx, customer_id: int, actor: str, now: datetime) -> bool:
    """Erase personal data (right to erasure), keeping anonymous counts, times, priorities and ratings.

    Names, texts, external ids and the bot's analysis (its reasons quote the customer) are replaced;
    conversation state and links to channel messages are deleted; undelivered replies are cancelled. The
    customer row stays, renamed, so tickets and ratings still add up in the statistics. A message from
    the same person later creates a new, unrelated customer.
    """
    customer = await tx.customer(customer_id)
    if customer is None:
        return False
    stamp = to_db_time(now)
    await _forget_in_staff_channels(tx, customer_id, now)
    # The update inbox drops raw JSON once processed, but a poisoned update keeps it (customer text
    # included) for the operator: the customer's own are erased too. Pending ones are new contact.
    await tx.execute(
        "DELETE FROM inbound_updates WHERE channel = ? AND chat = ? AND state <> 'pending'",
        (customer.channel, customer.external_id),
    )
    await tx.execute(
        "UPDATE customers SET display_name = ?, external_id = 'forgotten:' || id, forgotten_at = ?"
        " WHERE id = ?",
        (FORGOTTEN_NAME, stamp, customer_id),
    )
    await tx.execute(
        "DELETE FROM message_links WHERE message_id IN (SELECT id FROM messages WHERE customer_id = ?)",
        (customer_id,),
    )
    await tx.execute(
        "UPDATE messages SET text = '', payload = NULL, buttons = '[]', channel_message_id = NULL,"
        # The analysis quotes the customer; what the bot did (outcome, intents answered) is not personal
        # and keeps the bot's share in `queue stats` true after an erasure.
        f" analysis = {tx.dialect.forget_analysis('analysis')},"
        " handled_at = coalesce(handled_at, CASE WHEN author = 'customer' THEN ? END)"
        " WHERE customer_id = ?",
        (stamp, customer_id),
    )
    await tx.execute("DELETE FROM conversations WHERE customer_id = ?", (customer_id,))
    await tx.execute(
        "UPDATE tickets SET summary = '', anger_reasons = '[]' WHERE customer_id = ?", (customer_id,)
    )
    await tx.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'customer forgotten'"
        " WHERE customer_id = ? AND status = 'pending'",
        (customer_id,),
    )
    await tx.execute(
        "UPDATE outbox SET payload = '{}' WHERE ticket_id IN (SELECT id FROM tickets WHERE customer_id = ?)"
        " AND kind <> ?",  # the forget notification holds only ids, which the staff relay needs
        (customer_id, FORGET_NOTIFICATION),
    )
    for row in await tx.fetch_all(
        "SELECT id FROM tickets WHERE customer_id = ? AND status <> 'resolved'", (customer_id,)
    ):
        await tx.resolve(
            int(row["id"]), actor, now, resolution=Resolution.BLOCKED, ask_rating=False, event="forgotten"
        )
    await tx.add_event(None, actor, "customer_forgotten", {"customer_id": customer_id}, now)
    return True


async def _forget_in_staff_channels(tx: Tx, customer_id: int, now: datetime) -> None:
    """Queue, per ticket that reached a staff channel, what the staff channel must delete there.

    The CLI runs beside the bot, so it cannot talk to Telegram itself: the running bot's staff relay carries
    out a ``customer_forgotten`` row. The row holds only ids (the topic, the bot's posts, mirrored and
    staff messages linked to the customer's messages), taken now because the links are erased below.
    Undelivered staff notifications about these tickets are cancelled: they could only repeat what is erased.
    """
    tickets = "SELECT id FROM tickets WHERE customer_id = ?"
    await tx.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'customer forgotten'"
        f" WHERE ticket_id IN ({tickets}) AND status = 'pending' AND customer_id IS NULL",
        (customer_id,),
    )
    posted = await tx.fetch_all(
        "SELECT ticket_id, chat_id, message_id FROM staff_posts"
        f" WHERE channel = ? AND ticket_id IN ({tickets})"
        " UNION SELECT m.ticket_id, l.external_chat_id, l.external_message_id"
        " FROM message_links l JOIN messages m ON m.id = l.message_id"
        " WHERE l.channel = ? AND m.customer_id = ? AND m.ticket_id IS NOT NULL",
        (STAFF_CHANNEL, customer_id, STAFF_CHANNEL, customer_id),
    )
    threads = await tx.fetch_all(
        f"SELECT ticket_id, thread_id FROM ticket_threads WHERE channel = ? AND ticket_id IN ({tickets})",
        (STAFF_CHANNEL, customer_id),
    )
    thread_of = {int(row["ticket_id"]): str(row["thread_id"]) for row in threads}
    messages_of: dict[int, list[tuple[str, str]]] = {}
    for row in posted:
        messages_of.setdefault(int(row["ticket_id"]), []).append(
            (str(row["chat_id"]), str(row["message_id"]))
        )
    for ticket_id in sorted(set(thread_of) | set(messages_of)):
        messages = sorted(messages_of.get(ticket_id, []), key=lambda pair: (pair[0], int(pair[1])))
        payload = {"thread_id": thread_of.get(ticket_id), "messages": [list(pair) for pair in messages]}
        await tx.enqueue_staff(FORGET_NOTIFICATION, ticket_id, payload, now)
    await tx.execute(f"DELETE FROM staff_posts WHERE ticket_id IN ({tickets})", (customer_id,))


def status_label(status: TicketStatus, assignee: str | None) -> str:
    return f"{status.value} ({assignee})" if assignee else status.value


@dataclass(frozen=True, slots=True)
class Volume:
    """How much arrived, for the inbox's charts: per UTC day and per UTC hour of the day."""

    days: list[tuple[str, int, int]]
    """``(YYYY-MM-DD, customer messages, new tickets)`` for every day of the period, oldest first."""
    hours: list[tuple[int, int]]
    """``(customer messages, new tickets)`` per hour of the day 0-23, summed over the period."""


async def volume(tx: Tx, now: datetime, *, days: int = 30) -> Volume:
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    since = to_db_time(start)
    per_day: dict[str, list[int]] = {
        (start + timedelta(days=n)).strftime("%Y-%m-%d"): [0, 0] for n in range(days)
    }
    per_hour = [[0, 0] for _ in range(24)]
    for column, sql in enumerate(
        (
            "SELECT substr(created_at, 1, 10) AS day, CAST(substr(created_at, 12, 2) AS INTEGER) AS hour,"
            " count(*) AS n FROM messages WHERE author = 'customer' AND created_at >= ? GROUP BY 1, 2",
            "SELECT substr(created_at, 1, 10) AS day, CAST(substr(created_at, 12, 2) AS INTEGER) AS hour,"
            " count(*) AS n FROM tickets WHERE created_at >= ? GROUP BY 1, 2",
        )
    ):
        for row in await tx.fetch_all(sql, (since,)):
            if row["day"] in per_day:
                per_day[row["day"]][column] += int(row["n"])
            per_hour[int(row["hour"])][column] += int(row["n"])
    return Volume(
        days=[(day, counts[0], counts[1]) for day, counts in per_day.items()],
        hours=[(counts[0], counts[1]) for counts in per_hour],
    )
