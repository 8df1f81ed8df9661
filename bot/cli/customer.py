"""`python -m bot customer`: the customer's privacy rights — access (``export``) and erasure (``forget``).

``forget`` keeps what statistics need (that a ticket existed, its priority, times and rating) and removes
what identifies or quotes the person. See ``docs/queue.md`` ("Privacy").
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.queue import add_db_argument, run_with_db
from bot.config import staff_name
from bot.service.describe import when
from bot.storage import Database
from bot.storage.reports import (
    FORGET_NOTIFICATION,
    export_customer,
    find_customer,
    forget_customer,
    forgotten_at,
)

DESCRIPTION = (
    "A customer's privacy rights. `export` prints everything stored about a customer as JSON (the right "
    "of access); `forget` erases their name, channel id, message texts and the bot's notes on them (the "
    "right to erasure) and keeps only anonymous statistics: that tickets existed, their times, priorities "
    "and ratings. Name a customer by number (as `queue show` prints it) or as channel:id "
    "(e.g. telegram:123456)."
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "customer", help="export or erase what is stored about a customer", description=DESCRIPTION
    )
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="customer_command", metavar="ACTION")

    export = actions.add_parser(
        "export",
        help="everything stored about a customer, as JSON",
        description="Print everything stored about a customer as JSON: the customer, the conversation "
        "state, tickets, messages with the bot's analysis, events, ratings and deliveries.",
    )
    export.add_argument("customer", help="customer number or channel:id (e.g. telegram:123456)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    add_db_argument(export)
    export.set_defaults(handler=cmd_export)

    forget = actions.add_parser(
        "forget",
        help="erase a customer's personal data (keeps anonymous statistics)",
        description="Erase a customer's personal data: name, channel id, message texts, the bot's analyses, "
        "ticket summaries. Their open tickets close and undelivered replies are cancelled. Erased values are "
        "overwritten in the database file and the write-ahead log is emptied. In the Telegram staff group "
        "the running bot renames and closes the ticket topics and deletes its cards and mirrored messages. "
        "There is no undo; without --yes nothing happens. If the person writes again, they are a new customer.",
    )
    forget.add_argument("customer", help="customer number or channel:id")
    forget.add_argument("--yes", action="store_true", help="really erase (there is no undo)")
    forget.add_argument("--as", dest="agent", metavar="NAME", help="who is acting (default: $BOT_STAFF_NAME)")
    add_db_argument(forget)
    forget.set_defaults(handler=cmd_forget)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_export(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        async with db.snapshot() as tx:
            customer = await find_customer(tx, args.customer)
            data = None if customer is None else await export_customer(tx, customer.id)
        if data is None:
            print(f"error: no customer {args.customer!r}", file=sys.stderr)
            return 1
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
            print(f"Wrote {args.output}.", file=sys.stderr)
        else:
            print(text)
        return 0

    return run_with_db(args, action)


def cmd_forget(args: argparse.Namespace) -> int:
    async def action(db: Database) -> int:
        async with db.erasing() as tx:
            customer = await find_customer(tx, args.customer)
            if customer is None:
                print(f"error: no customer {args.customer!r}", file=sys.stderr)
                return 1
            if not args.yes:
                print(
                    f"This erases the name, external id, message texts and analyses of customer #{customer.id}"
                    f" ({customer.display_name or 'no name'}, {customer.channel}). Re-run with --yes.",
                    file=sys.stderr,
                )
                return 1
            erased = await forgotten_at(tx, customer.id)
            if erased is not None:
                print(f"Customer #{customer.id} was already forgotten on {when(erased)} UTC; nothing to do.")
                return 0
            await forget_customer(tx, customer.id, staff_name(args.agent), datetime.now(UTC))
            in_group = await tx.fetch_one(
                "SELECT count(*) AS n FROM outbox WHERE kind = ? AND status = 'pending' AND ticket_id IN"
                " (SELECT id FROM tickets WHERE customer_id = ?)",
                (FORGET_NOTIFICATION, customer.id),
            )
        print(f"Customer #{customer.id} forgotten; anonymous statistics kept.")
        topics = int(in_group["n"]) if in_group else 0
        if topics:
            print(
                f"The running bot renames and closes {topics} ticket topic(s) in the staff group and deletes its"
                " messages there; what Telegram does not let it delete, it lists in the topic."
            )
        if db.last_checkpoint is not None and db.last_checkpoint[0]:
            print(
                "warning: the write-ahead log could not be emptied now (a long read is running); it is emptied"
                " at the bot's next checkpoint.",
                file=sys.stderr,
            )
        return 0

    return run_with_db(args, action)
