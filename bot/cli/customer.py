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
from bot.storage import Database
from bot.storage.reports import export_customer, find_customer, forget_customer


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "customer", help="export or erase what is stored about a customer", description=__doc__
    )
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="customer_command", metavar="ACTION")

    export = actions.add_parser("export", help="everything stored about a customer, as JSON")
    export.add_argument("customer", help="customer number or channel:id (e.g. telegram:123456)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    add_db_argument(export)
    export.set_defaults(handler=cmd_export)

    forget = actions.add_parser(
        "forget", help="erase a customer's personal data (keeps anonymous statistics)"
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
        async with db.transaction() as tx:
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
            await forget_customer(tx, customer.id, staff_name(args.agent), datetime.now(UTC))
        print(f"Customer #{customer.id} forgotten; anonymous statistics kept.")
        return 0

    return run_with_db(args, action)
