"""`python -m bot queue`: the support queue on the command line, for staff without the Telegram group.

Every action opens the database, does one transaction through :class:`bot.service.staff.StaffService`
and closes it again, so the command is safe to run beside the bot (WAL: readers never wait; writers wait
their turn for milliseconds). Who acts comes from ``--as`` or ``BOT_STAFF_NAME``; the file from
``--database`` (alias ``--db``) or ``BOT_DATABASE``; the customer-facing wording of replies, resolve and
hand-back from the intents folder (``--intents`` or ``BOT_INTENTS``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import database, database_location, intents_dir, staff_name
from bot.core.model import Author, TicketStatus
from bot.core.render import Renderer
from bot.service.describe import describe_analysis, describe_event, wake_due, when
from bot.service.staff import StaffError, StaffService, TicketHeld
from bot.storage import Database, StorageError, StoredMessage
from bot.storage.migrate import SchemaError
from bot.storage.reports import QueueStats, TicketDetail, find_customer, queue_entries, stats, ticket_detail

STAFF_GROUP_VARIABLE = "TELEGRAM_STAFF_CHAT_ID"

# --- shared by the db and customer commands -------------------------------------------------------------


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--database FILE|URL`` as in ``chat`` and ``intents``; ``--db`` stays as a short alias."""
    parser.add_argument(
        "--database",
        "--db",
        dest="database",
        type=database_location,
        metavar="FILE|URL",
        help="SQLite file or postgresql:// URL (default: $BOT_DATABASE or data/bot.db)",
    )


def db_path(args: argparse.Namespace) -> Path | str:
    """The database to open: ``--database``, else ``BOT_DATABASE``: a file path or a ``postgresql://`` URL."""
    explicit: Path | str | None = getattr(args, "database", None)
    return explicit or database()


class WordingError(Exception):
    """The intents folder, which holds what the customer is told, cannot be loaded."""


def fail(message: str, code: int = 2) -> int:
    """One line on stderr, no traceback: for problems of the setup (file, folder), not of the action."""
    print(f"error: {message}", file=sys.stderr)
    return code


def ticket_number(text: str) -> int:
    """A ticket number as typed: ``3`` or ``#3`` (how ``list`` prints it)."""
    digits = text.strip().removeprefix("#")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"not a ticket number: {text!r} (e.g. 3 or #3)")
    return int(digits)


def run_with_db(args: argparse.Namespace, action: Callable[[Database], Awaitable[int]]) -> int:
    """Open the database, run ``action``, always close it (an open aiosqlite thread keeps Python alive).

    A missing file is an error, not a new empty queue: a mistyped ``BOT_DATABASE`` must not look like
    "nothing to do".
    """
    path = db_path(args)
    if isinstance(path, Path) and not path.exists():
        return fail(f"no database at {path} (set BOT_DATABASE or --database; `db migrate` creates one)", 1)

    async def main() -> int:
        async with await Database.open(path) as db:
            return await action(db)

    try:
        return asyncio.run(main())
    except StaffError as error:
        return fail(explain(error), 1)
    except (StorageError, SchemaError, WordingError) as error:
        return fail(str(error))


def explain(error: StaffError) -> str:
    """The service's reason, with this command line's way of taking a ticket over."""
    if isinstance(error, TicketHeld):
        return f"{error.situation}; take it over with `claim {error.ticket_id} --force` first"
    return str(error)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, widths: Sequence[int] = ()) -> str:
    """Left-aligned columns; ``widths`` caps columns (0 = no cap), cutting long cells with an ellipsis."""
    cells = [[_cell(value) for value in row] for row in rows]
    for row in cells:
        for index, width in enumerate(widths):
            if width and len(row[index]) > width:
                row[index] = row[index][: width - 1] + "…"
    sizes = [len(h) for h in headers]
    for row in cells:
        sizes = [max(size, len(cell)) for size, cell in zip(sizes, row, strict=True)]
    lines = ["  ".join(h.ljust(size) for h, size in zip(headers, sizes, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(size) for c, size in zip(row, sizes, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return " ".join(str("" if value is None else value).split())


def duration(span: timedelta | None) -> str:
    if span is None:
        return "–"
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- parser ------------------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "queue",
        help="work the human support queue (list, show, claim, reply, resolve, stats …)",
        description="The human support queue. Staff name: --as NAME or $BOT_STAFF_NAME; "
        "database: --database FILE (or --db) or $BOT_DATABASE. Tickets are named by their number "
        "as `list` prints it (3 or #3).",
    )
    parser.set_defaults(handler=lambda args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    add_db_argument(common)
    common.add_argument("--as", dest="agent", metavar="NAME", help="who is acting (default: $BOT_STAFF_NAME)")
    actions = parser.add_subparsers(dest="queue_command", metavar="ACTION")

    def action(
        name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        p.set_defaults(handler=handler)
        return p

    listing = action("list", "active tickets: most urgent first, then longest waiting", cmd_list)
    listing.add_argument("--mine", action="store_true", help="only tickets assigned to me")
    listing.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in TicketStatus if s is not TicketStatus.BOT],
        help="only this status (repeat for several; default: all but resolved)",
    )
    listing.add_argument("--limit", type=int, default=50, help="show at most N tickets (default: 50)")

    def ticket_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument("ticket", type=ticket_number, help="ticket number, as `list` prints it (3 or #3)")

    def intents_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--intents",
            type=Path,
            metavar="DIR",
            help="intents folder with the customer-facing wording (default: $BOT_INTENTS or intents/)",
        )

    show = action("show", "one ticket: customer, what the bot tried, messages, events", cmd_show)
    ticket_argument(show)

    claim = action("claim", "take a ticket (exactly one agent wins)", cmd_claim)
    ticket_argument(claim)
    claim.add_argument("--force", action="store_true", help="take over a ticket someone else holds")

    action("next", "claim the most urgent, longest-waiting open ticket and show it", cmd_next)

    reply = action("reply", "answer the customer in their channel ('-' reads the text from stdin)", cmd_reply)
    ticket_argument(reply)
    reply.add_argument("text", nargs="+", help="the reply; '-' reads it from stdin")
    reply.add_argument("--wait", action="store_true", help="then wait for the customer (status waiting)")
    intents_argument(reply)

    note = action("note", "internal note for colleagues; never sent to the customer", cmd_note)
    ticket_argument(note)
    note.add_argument("text", nargs="+", help="the note; '-' reads it from stdin")

    snooze = action(
        "snooze", "hide until a time: 30m, 4h, 2d or '2026-03-02 14:00' (UTC), at most 90 days", cmd_snooze
    )
    ticket_argument(snooze)
    snooze.add_argument("until", nargs="+", help="30m, 4h, 2d or '2026-03-02 14:00' (UTC)")

    resolve = action("resolve", "close the ticket; the customer is asked for a 1-5 rating", cmd_resolve)
    ticket_argument(resolve)
    intents_argument(resolve)

    reopen = action("reopen", "put a ticket back in the queue, unassigned", cmd_reopen)
    ticket_argument(reopen)

    handback = action("handback", "give the conversation back to the bot (no rating asked)", cmd_handback)
    ticket_argument(handback)
    intents_argument(handback)

    block = action(
        "block",
        "block the customer of a ticket: the bot ignores them, their open tickets close silently",
        cmd_block,
    )
    target = block.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "ticket",
        nargs="?",
        type=ticket_number,
        help="ticket number, as `list` prints it: blocks the customer who wrote it",
    )
    target.add_argument(
        "--customer",
        metavar="ID",
        help="block by customer instead: the customer number (`show` prints it) or channel:id",
    )
    block.add_argument("--undo", action="store_true", help="unblock instead")

    stat = action("stats", "queue health: open tickets, response times, bot share, CSAT", cmd_stats)
    stat.add_argument("--days", type=int, default=30, help="period for times, shares and ratings")
    stat.add_argument("--json", action="store_true", help="machine-readable output")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def load_renderer(folder: Path) -> Renderer:
    """The customer-facing wording from the intents folder, or a :class:`WordingError` that says what to do.

    There is no fallback to built-in texts: the folder names the company, the languages and the tone the
    customer knows from the bot, and a reply signed with invented wording would be worse than none.
    """
    from bot.content.loader import ContentError, load_folder

    try:
        return Renderer(load_folder(folder).content)
    except ContentError as error:
        if not folder.is_dir():
            raise WordingError(
                f"cannot read the intents folder '{folder}' (needed for the customer-facing wording): "
                "set BOT_INTENTS or run from the bot's folder"
            ) from None
        first = error.errors[0] if error.errors else (error.problems[0] if error.problems else None)
        raise WordingError(
            f"the intents folder '{folder}' (needed for the customer-facing wording) has problems"
            + (f", first: {first}" if first else "")
            + f"; see `python -m bot intents check {folder}`"
        ) from None


def _staff(db: Database, args: argparse.Namespace, renderer: Renderer | None = None) -> StaffService:
    def wording() -> Renderer:
        if renderer is None:  # an action that writes to the customer without being declared to
            raise WordingError("this action has no customer-facing wording loaded")
        return renderer

    # Notify the Telegram staff group only where one is configured; the bot's process delivers them.
    return StaffService(db, wording, source="cli", notify_staff=bool(os.environ.get(STAFF_GROUP_VARIABLE)))


def _agent(args: argparse.Namespace) -> str:
    return staff_name(getattr(args, "agent", None))


def _text(words: Sequence[str]) -> str:
    if list(words) == ["-"]:
        return sys.stdin.read()
    return " ".join(words)


# --- commands ----------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        now = utcnow()
        await wake_due(db, now)
        async with db.snapshot() as tx:
            entries = await queue_entries(
                tx,
                now,
                statuses=args.status or [s.value for s in TicketStatus if s.active],
                assignee=_agent(args) if args.mine else None,
                limit=args.limit,
            )
        if not entries:
            print("No tickets with that status." if args.status else "The queue is empty.")
            return 0
        resolved = sum(e.ticket.status is TicketStatus.RESOLVED for e in entries)
        time_header = (
            "RESOLVED" if resolved == len(entries) else "WAITING/RESOLVED" if resolved else "WAITING"
        )
        rows = [
            (
                f"#{e.ticket.id}",
                e.ticket.priority.value,
                e.ticket.status.value,
                e.ticket.assignee or "",
                (
                    when(e.ticket.resolved_at)
                    if e.ticket.status is TicketStatus.RESOLVED
                    else duration(e.waited) + (" !" if e.overdue else "")
                ),
                e.ticket.reason.value,
                f"{e.ticket.anger:.0f}",
                e.customer.display_name or f"{e.customer.channel}:{e.customer.external_id}",
                e.ticket.summary or e.last_customer_text,
            )
            for e in entries
        ]
        headers = (
            "TICKET",
            "PRIORITY",
            "STATUS",
            "AGENT",
            time_header,
            "REASON",
            "ANGER",
            "CUSTOMER",
            "SUMMARY",
        )
        print(table(headers, rows, widths=(0, 0, 0, 12, 0, 0, 0, 18, 48)))
        overdue = sum(e.overdue for e in entries)
        print(f"\n{len(entries)} ticket(s); ! = first response overdue ({overdue})")
        return 0

    result: int = run_with_db(args, action)
    return result


def cmd_show(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        async with db.snapshot() as tx:
            detail = await ticket_detail(tx, args.ticket)
        if detail is None:
            print(f"error: there is no ticket #{args.ticket}", file=sys.stderr)
            return 1
        print(render_detail(detail, utcnow()))
        return 0

    return run_with_db(args, action)


def _resolution(detail: TicketDetail) -> str | None:
    """How the ticket closed, as the log says it: a forgotten customer's ticket is stored as ``blocked`` (the
    nearest resolution the schema has: closed silently, no rating) but its event says ``forgotten``."""
    if any(event.kind == "forgotten" for event in detail.events):
        return "forgotten"
    return detail.ticket.resolution


def render_detail(detail: TicketDetail, now: datetime) -> str:
    t, c = detail.ticket, detail.customer
    overdue = t.first_response_at is None and t.first_response_due <= now
    lines = [
        f"Ticket #{t.id}  {t.status.value.upper()}  priority {t.priority.value}  reason {t.reason.value}",
        f"Customer   #{c.id} {c.display_name or '(no name)'}  {c.channel}:{c.external_id}"
        f"  language {c.language or '?'}" + ("  BLOCKED" if c.blocked else ""),
        f"Agent      {t.assignee or '–'}",
        f"Anger      {t.anger:.0f}/100" + (f"  ({'; '.join(t.anger_reasons)})" if t.anger_reasons else ""),
        f"Created    {when(t.created_at)}   waiting since {when(t.waiting_since)}",
        f"First resp {when(t.first_response_at)}   due {when(t.first_response_due)}"
        + ("  OVERDUE" if overdue else ""),
        f"Resolution due {when(t.resolution_due)}"
        + (f"   resolved {when(t.resolved_at)} ({_resolution(detail)})" if t.resolved_at else ""),
    ]
    if t.snoozed_until:
        lines.append(f"Snoozed until {when(t.snoozed_until)}")
    if detail.rating is not None:
        lines.append(f"Rating     {detail.rating}/5")
    if t.summary:
        lines.append(f"Summary    {t.summary}")
    lines += ["", "Conversation (what the bot tried, then the ticket):"]
    for message in detail.messages:
        lines += _message_lines(message)
    if detail.undelivered:
        lines += ["", "Not delivered yet:"]
        lines += [
            f"  outbox {oid}: {status} {error or ''}".rstrip() for oid, status, error in detail.undelivered
        ]
    lines += ["", "Events:"]
    for event in detail.events:
        info = describe_event(event)
        lines.append(
            f"  {when(event.created_at)}  {event.actor:<10} {event.kind}" + (f"  {info}" if info else "")
        )
    return "\n".join(lines)


def _message_lines(message: StoredMessage) -> list[str]:
    if message.private:
        who = f"note {message.agent}"
    elif message.author is Author.AGENT:
        who = f"agent {message.agent}"
    else:
        who = message.author.value
    body = message.text
    if message.attachment:
        body = f"[{message.attachment}] {body}".strip()
    if message.payload:
        body += f"  (button {message.payload})"
    if message.buttons:
        body += "  [" + " | ".join(b.label for b in message.buttons) + "]"
    if message.author is not Author.CUSTOMER and message.sent_at is None and not message.private:
        body += "  (not sent yet)"
    first, *rest = body.splitlines() or [""]
    lines = [f"  {when(message.created_at)}  {who:<14} {first}"]
    lines += [f"  {'':16}  {'':<14} {line}" for line in rest]
    analysis = describe_analysis(message.analysis)
    if analysis:
        lines.append(f"  {'':16}  {'':<14} ↳ bot saw: {analysis}")
    return lines


def _staff_command(
    run: Callable[[StaffService, argparse.Namespace, str], Awaitable[str | None]],
    *,
    wording: bool = False,
) -> Callable[[argparse.Namespace], int]:
    """Wrap an action: open the database, act as the staff member, print the outcome line.

    ``wording``: the action writes to the customer, so the intents folder is loaded first — before the
    database is opened, so a missing folder costs nothing and never holds the write lock."""

    def handler(args: argparse.Namespace) -> int:
        renderer = None
        if wording:
            try:
                renderer = load_renderer(getattr(args, "intents", None) or intents_dir())
            except WordingError as error:
                return fail(str(error))

        async def action(db: Database) -> int:
            outcome = await run(_staff(db, args, renderer), args, _agent(args))
            if outcome is None:
                return 1
            print(outcome)
            return 0

        return run_with_db(args, action)

    return handler


async def _claim(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    if await staff.claim(args.ticket, agent, force=args.force):
        return f"#{args.ticket} is yours, {agent}."
    ticket = await staff.db.ticket(args.ticket)
    if ticket is not None and ticket.assignee:
        print(
            f"#{args.ticket} is held by {ticket.assignee} ({ticket.status.value}); take it over with --force."
        )
    else:
        print(f"#{args.ticket} is not open.", file=sys.stderr)
    return None


async def _next(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    ticket = await staff.claim_next(agent)
    if ticket is None:
        return "The queue is empty."
    async with staff.db.snapshot() as tx:
        detail = await ticket_detail(tx, ticket.id)
    assert detail is not None
    return f"#{ticket.id} is yours, {agent}.\n\n" + render_detail(detail, utcnow())


async def _reply(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    await staff.reply(args.ticket, agent, _text(args.text), wait=args.wait)
    return f"Reply to #{args.ticket} queued for delivery."


async def _note(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    await staff.note(args.ticket, agent, _text(args.text))
    return f"Note added to #{args.ticket}."


async def _snooze(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    try:
        until = parse_until(" ".join(args.until), utcnow())
    except ValueError as error:
        raise StaffError(str(error)) from error
    await staff.snooze(args.ticket, agent, until)
    return f"#{args.ticket} snoozed until {when(until)} UTC."


async def _resolve(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    await staff.resolve(args.ticket, agent)
    return f"#{args.ticket} resolved; the customer is asked for a rating."


async def _reopen(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    await staff.reopen(args.ticket, agent)
    return f"#{args.ticket} is back in the queue."


async def _handback(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    await staff.handback(args.ticket, agent)
    return f"#{args.ticket} handed back to the bot."


async def _block(staff: StaffService, args: argparse.Namespace, agent: str) -> str | None:
    """By ticket (what staff see everywhere) or, explicitly, ``--customer`` number or channel:id."""
    if args.customer is not None:
        async with staff.db.snapshot() as tx:
            customer = await find_customer(tx, args.customer)
        if customer is None:
            raise StaffError(f"no customer {args.customer!r} (use the customer number or channel:id)")
        closed = await staff.block(customer.id, agent, blocked=not args.undo)
        via = ""
    else:
        customer, closed = await staff.block_ticket_customer(args.ticket, agent, blocked=not args.undo)
        via = f" (ticket #{args.ticket})"
    who = f"{customer.display_name or '(no name)'}, customer #{customer.id} {customer.channel}:{customer.external_id}"
    if args.undo:
        return f"Unblocked {who}{via}."
    also = f"; closed {', '.join(f'#{n}' for n in closed)}" if closed else "; no open tickets"
    return f"Blocked {who}{via}{also}."


cmd_claim = _staff_command(_claim)
cmd_next = _staff_command(_next)
cmd_reply = _staff_command(_reply, wording=True)
cmd_note = _staff_command(_note)
cmd_snooze = _staff_command(_snooze)
cmd_resolve = _staff_command(_resolve, wording=True)
cmd_reopen = _staff_command(_reopen)
cmd_handback = _staff_command(_handback, wording=True)
cmd_block = _staff_command(_block)

_RELATIVE = re.compile(r"^\+?(\d+)\s*(m|min|h|d)$")


def parse_until(text: str, now: datetime) -> datetime:
    """``30m``, ``4h``, ``2d`` from now, or an ISO date/time (UTC unless it says otherwise)."""
    text = text.strip().lower()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        minutes = {"m": 1, "min": 1, "h": 60, "d": 1440}[unit] * amount
        try:
            return now + timedelta(minutes=minutes)
        except OverflowError:
            raise ValueError(f"{text!r} is too far ahead; a snooze lasts at most 90 days") from None
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time; try 30m, 4h, 2d or '2026-03-02 14:00'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_stats(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        now = utcnow()
        await wake_due(db, now)
        async with db.snapshot() as tx:
            result = await stats(tx, now, days=args.days)
        print(json.dumps(stats_json(result), indent=2) if args.json else render_stats(result))
        return 0

    return run_with_db(args, action)


def stats_json(result: QueueStats) -> dict[str, object]:
    def seconds(span: timedelta | None) -> float | None:
        return None if span is None else span.total_seconds()

    return {
        "days": result.days,
        "active_by_priority": result.active_by_priority,
        "median_first_response_seconds": seconds(result.median_first_response),
        "median_resolution_seconds": seconds(result.median_resolution),
        "conversations": result.conversations,
        "bot_resolved": result.bot_resolved,
        "bot_resolved_share": result.bot_resolved_share,
        "questions_answered_by_bot": result.questions_answered,
        "tickets_closed": result.closed or {},
        "ratings": result.ratings,
        "csat_average": result.csat_average,
        "overdue_first_response": result.overdue_first_response,
        "outbox_pending": result.outbox_pending,
        "outbox_failed": result.outbox_failed,
        "outbox_resent": result.outbox_resent,
    }


CLOSED_LABELS = {
    "resolved": "resolved by staff",
    "handed_back": "handed back to the bot",
    "withdrawn": "withdrawn by the customer",
    "blocked": "customer blocked",
}
"""Each way a ticket ends is its own line: hand-backs and withdrawals are not resolutions."""


def render_stats(result: QueueStats) -> str:
    statuses = [s.value for s in TicketStatus if s.active and s is not TicketStatus.BOT]
    counts_rows = [
        [*(counts.get(s, 0) for s in statuses), sum(counts.values())]
        for counts in result.active_by_priority.values()
    ]
    totals = [sum(column) for column in zip(*counts_rows, strict=True)] if counts_rows else []
    rows: list[list[object]] = [
        [priority, *counts] for priority, counts in zip(result.active_by_priority, counts_rows, strict=True)
    ]
    rows.append(["all", *totals])
    share = result.bot_resolved_share
    lines = [
        "Active tickets by priority",
        table(["PRIORITY", *(s.upper() for s in statuses), "TOTAL"], rows),
        "",
        f"Last {result.days} days",
        table(
            ["MEASURE", "VALUE"],
            [
                ["median first response", duration(result.median_first_response)],
                ["median resolution (by staff)", duration(result.median_resolution)],
                [
                    "resolved by the bot alone",
                    "–"
                    if share is None
                    else f"{share:.0%} ({result.bot_resolved} of {result.conversations} conversations)",
                ],
                ["questions the bot answered", result.questions_answered],
                [
                    "tickets closed",
                    " · ".join(f"{CLOSED_LABELS.get(k, k)} {n}" for k, n in (result.closed or {}).items())
                    or "–",
                ],
                [
                    "CSAT",
                    "–"
                    if result.csat_average is None
                    else f"{result.csat_average:.2f} / 5 ({plural(result.ratings, 'rating')})",
                ],
                ["first response overdue now", result.overdue_first_response],
                ["replies pending / failed", f"{result.outbox_pending} / {result.outbox_failed}"],
                ["replies resent after a crash", result.outbox_resent],
            ],
        ),
    ]
    return "\n".join(lines)
