"""The JSON API under ``/api``: the queue, one ticket, the staff actions and the statistics.

Every action is a :class:`bot.service.staff.StaffService` call, exactly as the CLI and the Telegram staff
group make it (source ``inbox``), so the rules live in one place. Reads use the same storage queries as
``python -m bot queue list/show/stats``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Literal, cast

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bot.channels.web.inbox.auth import Agent
from bot.channels.web.inbox.convert import event_out, message_out, ticket_out
from bot.channels.web.inbox.deps import InboxState
from bot.channels.web.inbox.http import ApiError, json_body, ok
from bot.channels.web.inbox.models import (
    ActionOut,
    BlockIn,
    ClaimIn,
    Counts,
    DayVolume,
    EarlierTicket,
    HourVolume,
    MeOut,
    NoteIn,
    ReplyIn,
    SnoozeIn,
    StatsOut,
    TicketDetailOut,
    TicketListOut,
)
from bot.core.agents import agent_display, same_agent
from bot.core.model import Priority, TicketStatus
from bot.service.describe import wake_due
from bot.storage.reports import QueueEntry, queue_entries, stats, ticket_detail, volume

LIST_LIMIT = 2000
"""Tickets one list reads before filtering; a small team's whole active queue."""
STATUSES = tuple(s.value for s in TicketStatus if s is not TicketStatus.BOT)
PRIORITIES = tuple(p.value for p in Priority)
VIEWS = ("mine", "unassigned", "all")

Handler = Callable[[Request, Agent], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    """One endpoint: its route, whether it changes anything, and what /openapi.json says about it."""

    method: Literal["GET", "POST"]
    path: str
    name: str
    summary: str
    handler: Handler
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: tuple[tuple[str, str, tuple[str, ...] | None], ...] = ()
    """``(name, description, allowed values)`` of query parameters."""

    @property
    def change(self) -> bool:
        return self.method != "GET"


# --- the operations -------------------------------------------------------------------------------------


def _ticket_id(request: Request) -> int:
    number = int(request.path_params["ticket_id"])
    if number > 2**63 - 1:  # beyond SQLite's integers: no such ticket, not a crash
        raise ApiError(404, f"there is no ticket #{number}")
    return number


def _choices(request: Request, name: str, allowed: tuple[str, ...] | None) -> list[str]:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    if allowed is not None:
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise ApiError(422, f"{name}: {wrong[0]!r} is not one of {', '.join(allowed)}")
    return values


def operations(state: InboxState) -> list[Operation]:
    staff = state.staff
    db = state.deps.db
    clock = state.deps.clock

    async def me(request: Request, agent: Agent) -> Response:
        return ok(MeOut(name=agent.name, admin=agent.admin, csrf_token=agent.csrf_token))

    async def list_tickets(request: Request, agent: Agent) -> Response:
        view = request.query_params.get("view", "all")
        if view not in VIEWS:
            raise ApiError(422, f"view: {view!r} is not one of {', '.join(VIEWS)}")
        statuses = _choices(request, "status", STATUSES) or [s.value for s in TicketStatus if s.active]
        priorities = set(_choices(request, "priority", PRIORITIES))
        channels = set(_choices(request, "channel", None))
        now = clock()
        await wake_due(db, now)
        async with db.snapshot() as tx:
            entries = await queue_entries(tx, now, statuses=statuses, limit=LIST_LIMIT)
        entries = [
            e
            for e in entries
            if (not priorities or e.ticket.priority.value in priorities)
            and (not channels or e.customer.channel in channels)
        ]

        def in_view(entry: QueueEntry, which: str) -> bool:
            if which == "mine":
                return entry.ticket.assignee == agent.name
            if which == "unassigned":
                return entry.ticket.assignee is None
            return True

        counts = Counts(**{which: sum(in_view(e, which) for e in entries) for which in VIEWS})
        tickets = [
            ticket_out(
                e.ticket,
                e.customer,
                now,
                last_text=e.last_customer_text,
                viewers=state.presence.viewers(e.ticket.id, besides=agent.name),
            )
            for e in entries
            if in_view(e, view)
        ]
        return ok(
            TicketListOut(
                view=cast(Literal["mine", "unassigned", "all"], view), counts=counts, tickets=tickets
            )
        )

    async def detail(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        now = clock()
        async with db.snapshot() as tx:
            found = await ticket_detail(tx, ticket_id)
            earlier = [] if found is None else await tx.customer_tickets(found.customer.id)
        if found is None:
            raise ApiError(404, f"there is no ticket #{ticket_id}")
        state.presence.viewing(ticket_id, agent.name)
        others = state.presence.viewers(ticket_id, besides=agent.name)
        warnings = [f"{name} has this ticket open too." for name in others]
        t = found.ticket
        if (
            t.assignee is not None
            and not same_agent(t.assignee, agent.name)
            and t.status is not TicketStatus.RESOLVED
        ):
            warnings.append(f"{agent_display(t.assignee)} holds this ticket ({t.status.value}).")
        last = next((m.text for m in reversed(found.messages) if m.author.value == "customer"), "")
        return ok(
            TicketDetailOut(
                ticket=ticket_out(t, found.customer, now, last_text=last, viewers=others),
                earlier_tickets=[
                    EarlierTicket(
                        id=e.id,
                        status=e.status.value,
                        reason=e.reason.value,
                        summary=e.summary,
                        created_at=e.created_at,
                    )
                    for e in earlier
                    if e.id != ticket_id
                ],
                messages=[message_out(m) for m in found.messages],
                events=[event_out(e) for e in found.events],
                rating=found.rating,
                undelivered=len(found.undelivered),
                warnings=warnings,
            )
        )

    async def current(ticket_id: int, agent: Agent, message: str, next_ticket: int | None = None) -> Response:
        """The answer to every successful action: what happened and the ticket as it is now."""
        state.deps.wake()
        now = clock()
        async with db.snapshot() as tx:
            ticket = await tx.ticket(ticket_id)
            assert ticket is not None
            customer = await tx.customer(ticket.customer_id)
            assert customer is not None
        viewers = state.presence.viewers(ticket_id, besides=agent.name)
        return ok(
            ActionOut(
                message=message,
                ticket=ticket_out(ticket, customer, now, viewers=viewers),
                next_ticket=next_ticket,
            )
        )

    async def exists(ticket_id: int) -> None:
        if await db.ticket(ticket_id) is None:
            raise ApiError(404, f"there is no ticket #{ticket_id}")

    async def reply(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        body = await json_body(request, ReplyIn)
        await exists(ticket_id)
        await staff.reply(ticket_id, agent.name, body.text, wait=body.wait)
        return await current(ticket_id, agent, f"Reply to #{ticket_id} queued for delivery.")

    async def note(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        body = await json_body(request, NoteIn)
        await exists(ticket_id)
        await staff.note(ticket_id, agent.name, body.text)
        return await current(ticket_id, agent, f"Note added to #{ticket_id}.")

    async def claim(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        body = await json_body(request, ClaimIn)
        await exists(ticket_id)
        if not await staff.claim(ticket_id, agent.name, force=body.force):
            ticket = await db.ticket(ticket_id)
            holder = ticket.assignee if ticket else None
            raise ApiError(
                409,
                f"#{ticket_id} is held by {holder}; take it over with force"
                if holder
                else f"#{ticket_id} is not open",
            )
        return await current(ticket_id, agent, f"#{ticket_id} is yours, {agent.name}.")

    async def resolve(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        await json_body(request, _Empty)
        await exists(ticket_id)
        await staff.resolve(ticket_id, agent.name)
        return await current(ticket_id, agent, f"#{ticket_id} resolved; the customer is asked for a rating.")

    async def resolve_next(request: Request, agent: Agent) -> Response:
        """Resolve, then name the next ticket for this agent: their own or an unassigned one, most urgent
        first. It is not claimed: opening it is enough to start."""
        ticket_id = _ticket_id(request)
        await json_body(request, _Empty)
        await exists(ticket_id)
        await staff.resolve(ticket_id, agent.name)
        now = clock()
        async with db.snapshot() as tx:
            entries = await queue_entries(tx, now, statuses=("open", "assigned"), limit=LIST_LIMIT)
        following = next(
            (
                e.ticket.id
                for e in entries
                if e.ticket.id != ticket_id and e.ticket.assignee in (None, agent.name)
            ),
            None,
        )
        return await current(
            ticket_id, agent, f"#{ticket_id} resolved; the customer is asked for a rating.", following
        )

    async def snooze(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        body = await json_body(request, SnoozeIn)
        if (body.minutes is None) == (body.until is None):
            raise ApiError(422, "send either minutes or until")
        now = clock()
        if body.until is not None:
            until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
        else:
            until = now + timedelta(minutes=body.minutes or 0)
        await exists(ticket_id)
        await staff.snooze(ticket_id, agent.name, until)
        return await current(ticket_id, agent, f"#{ticket_id} snoozed until {until:%Y-%m-%d %H:%M} UTC.")

    async def handback(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        await json_body(request, _Empty)
        await exists(ticket_id)
        await staff.handback(ticket_id, agent.name)
        return await current(ticket_id, agent, f"#{ticket_id} handed back to the bot.")

    async def reopen(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        await json_body(request, _Empty)
        await exists(ticket_id)
        await staff.reopen(ticket_id, agent.name)
        return await current(ticket_id, agent, f"#{ticket_id} is back in the queue.")

    async def block(request: Request, agent: Agent) -> Response:
        ticket_id = _ticket_id(request)
        body = await json_body(request, BlockIn)
        await exists(ticket_id)
        customer, closed = await staff.block_ticket_customer(ticket_id, agent.name, blocked=not body.undo)
        if body.undo:
            message = f"Unblocked customer #{customer.id}."
        else:
            also = f"; closed {', '.join(f'#{n}' for n in closed)}" if closed else ""
            message = f"Blocked customer #{customer.id}{also}."
        return await current(ticket_id, agent, message)

    async def statistics(request: Request, agent: Agent) -> Response:
        raw = request.query_params.get("days", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= 366:
            raise ApiError(422, "days: a whole number from 1 to 366")
        days = int(raw)
        now = clock()
        async with db.snapshot() as tx:
            result = await stats(tx, now, days=days)
            amount = await volume(tx, now, days=days)

        def seconds(span: timedelta | None) -> float | None:
            return None if span is None else span.total_seconds()

        return ok(
            StatsOut(
                days=days,
                per_day=[DayVolume(day=d, messages=m, tickets=t) for d, m, t in amount.days],
                per_hour=[HourVolume(hour=h, messages=m, tickets=t) for h, (m, t) in enumerate(amount.hours)],
                median_first_response_seconds=seconds(result.median_first_response),
                median_resolution_seconds=seconds(result.median_resolution),
                conversations=result.conversations,
                bot_resolved=result.bot_resolved,
                bot_resolved_share=result.bot_resolved_share,
                ratings=result.ratings,
                csat_average=result.csat_average,
                overdue_first_response=result.overdue_first_response,
                active_by_priority=result.active_by_priority,
                outbox_pending=result.outbox_pending,
                outbox_failed=result.outbox_failed,
            )
        )

    ticket = "/api/tickets/{ticket_id:int}"
    filters = (
        ("view", "mine, unassigned or all (default)", VIEWS),
        ("status", "only these statuses (repeat or comma-separate); default: all but resolved", STATUSES),
        ("priority", "only these priorities", PRIORITIES),
        ("channel", "only customers on these channels (telegram, web, terminal …)", None),
    )
    return [
        Operation("GET", "/api/me", "me", "Who is logged in, and the CSRF token for changes", me, MeOut),
        Operation(
            "GET",
            "/api/tickets",
            "listTickets",
            "The queue: most urgent first, then longest waiting",
            list_tickets,
            TicketListOut,
            query=filters,
        ),
        Operation(
            "GET",
            ticket,
            "getTicket",
            "One ticket: what the bot tried, the customer, messages, events; marks it as open by you",
            detail,
            TicketDetailOut,
        ),
        Operation(
            "POST",
            ticket + "/reply",
            "reply",
            "Answer the customer on their channel (takes an open ticket)",
            reply,
            ActionOut,
            ReplyIn,
        ),
        Operation(
            "POST", ticket + "/note", "note", "An internal note for colleagues", note, ActionOut, NoteIn
        ),
        Operation(
            "POST",
            ticket + "/claim",
            "claim",
            "Take the ticket (exactly one agent wins)",
            claim,
            ActionOut,
            ClaimIn,
        ),
        Operation(
            "POST",
            ticket + "/resolve",
            "resolve",
            "Close it; the customer is asked for a 1-5 rating",
            resolve,
            ActionOut,
        ),
        Operation(
            "POST",
            ticket + "/resolve-and-next",
            "resolveAndNext",
            "Resolve, and name the next ticket to work on",
            resolve_next,
            ActionOut,
        ),
        Operation(
            "POST",
            ticket + "/snooze",
            "snooze",
            "Hide it until a time (at most 90 days)",
            snooze,
            ActionOut,
            SnoozeIn,
        ),
        Operation(
            "POST",
            ticket + "/handback",
            "handBack",
            "Give the conversation back to the bot (no rating asked)",
            handback,
            ActionOut,
        ),
        Operation(
            "POST", ticket + "/reopen", "reopen", "Put it back in the queue, unassigned", reopen, ActionOut
        ),
        Operation(
            "POST",
            ticket + "/block",
            "block",
            "Block (or unblock) the customer; their open tickets close silently",
            block,
            ActionOut,
            BlockIn,
        ),
        Operation(
            "GET",
            "/api/stats",
            "stats",
            "Volume per day and hour, response times, bot share, CSAT",
            statistics,
            StatsOut,
            query=(("days", "the period in days, 1-366 (default 30)", None),),
        ),
    ]


class _Empty(BaseModel):
    """Actions without fields: an empty body or ``{}``; anything else is a mistake worth reporting."""

    model_config = {"extra": "forbid"}
