"""Tickets and their lifecycle, ratings and events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.core.model import Priority, Reason, TicketStatus
from bot.storage.records import (
    Event,
    Resolution,
    Ticket,
    from_db_time,
    to_db_time,
)
from bot.storage.rows import (
    event_from_row,
    json_text,
    median,
    ticket_from_row,
)
from bot.storage.transaction import StorageError, TxBase

RATING_WINDOW = timedelta(days=3)
"""A rating answer counts if it comes within this time after the ticket was resolved."""

FIRST_RESPONSE_SAMPLE = 50
"""The wait estimate uses the median of at most this many recent first-response times ..."""
FIRST_RESPONSE_HORIZON = timedelta(days=14)
"""... from tickets created within this period, so an old quiet month does not skew today's estimate."""
ACTIVE_AGENT_WINDOW = timedelta(hours=1)
"""Agents who did something within this time count as on duty for the wait estimate."""
ACTIVE_STATUSES = tuple(status.value for status in TicketStatus if status.active)
"""The statuses of a ticket someone still has to act on."""

FIRST_RESPONSE_MINIMUM = 3
"""Fewer recent first responses than this give no estimate: one quick answer is luck, not a typical wait."""


class TicketQueries(TxBase):
    # --- tickets ---------------------------------------------------------------------------------------------

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
        """Open a ticket; if the customer already has an active one, that one is returned instead.

        The partial unique index ``tickets_one_active`` guarantees one active ticket per customer: two
        replicas deciding at the same moment that a customer needs a ticket insert twice, the second
        insert conflicts (after waiting for the first to commit) and gets the first one's ticket, with
        ``first_message_id`` attached to it. No second "created" event, no error.
        """
        sla = self._sla[Priority(priority)]
        stamp = to_db_time(now)
        row = await self.fetch_one(
            "INSERT INTO tickets (customer_id, status, priority, reason, anger, anger_reasons, summary,"
            " created_at, waiting_since, first_response_due, resolution_due, updated_at)"
            " VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (customer_id) WHERE status <> 'resolved' DO NOTHING RETURNING *",
            (
                customer_id,
                Priority(priority).value,
                Reason(reason).value,
                min(100.0, max(0.0, float(anger))),
                json_text(list(anger_reasons)),
                summary,
                stamp,
                stamp,
                to_db_time(now + sla.first_response),
                to_db_time(now + sla.resolution),
                stamp,
            ),
        )
        if row is None:
            existing = await self.active_ticket(customer_id)
            assert existing is not None, "the conflicting ticket is committed and active"
            if first_message_id is not None:
                await self.execute(
                    "UPDATE messages SET ticket_id = ? WHERE id = ?", (existing.id, first_message_id)
                )
            return existing
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
        ticket = await self.lock_ticket(ticket_id)
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
        before = await self.ticket(ticket_id, for_update=True)
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

        Inside ``BEGIN IMMEDIATE`` (SQLite) the pick and the claim cannot be separated by another agent;
        on PostgreSQL the pick locks the row and skips rows other agents are claiming right now
        (``FOR UPDATE SKIP LOCKED``). Either way agents who only take "the next one" never collide.
        """
        row = await self.fetch_one(
            "SELECT id FROM tickets WHERE status = 'open' AND assignee IS NULL"
            " ORDER BY priority_rank DESC, waiting_since, id LIMIT 1" + self.skip_locked
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
            "SELECT * FROM tickets WHERE status = 'snoozed' AND snoozed_until <= ? ORDER BY id"
            + self.dialect.for_update,
            (to_db_time(now),),
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
        ticket = await self.lock_ticket(ticket_id)
        target = Priority(priority)
        if ticket is None or ticket.status is TicketStatus.RESOLVED or ticket.priority.rank >= target.rank:
            return None
        sla = self._sla[target]
        await self.execute(
            f"UPDATE tickets SET priority = ?, anger = {self.dialect.greatest}(anger, ?),"
            f" first_response_due = {self.dialect.least}(first_response_due, ?),"
            f" resolution_due = {self.dialect.least}(resolution_due, ?),"
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
        ticket = await self.lock_ticket(ticket_id)
        if ticket is None:
            raise StorageError(f"no ticket #{ticket_id}")
        await self._back_to_queue(ticket, agent, "reopened", now)

    async def add_note(self, ticket_id: int, agent: str, text: str, now: datetime) -> int:
        """An internal note: a private agent message on the ticket, never sent to the customer."""
        ticket = await self.require_ticket(ticket_id)
        message_id = await self.insert(
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
            (ticket_id, actor, kind, None if detail is None else json_text(dict(detail)), to_db_time(now)),
        )

    async def ticket_events(self, ticket_id: int) -> list[Event]:
        rows = await self.fetch_all("SELECT * FROM events WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        return [event_from_row(row) for row in rows]
