"""``python -m bot``: a thin command line over the service layer.

Each sub-command lives in its own module with a ``register(subparsers)`` function that adds its parser and
sets ``handler`` to a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import chat, customer, db, intents, queue, run, staff
from bot.storage import StorageError

COMMANDS = (run, chat, intents, queue, db, customer, staff)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Customer-care bot: answers from YAML intents, hands over to a human queue.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list:
        # The main job: serve customers (Telegram when configured, else the terminal chat).
        args_list = ["run"]
    args = parser.parse_args(args_list)
    level_name = os.environ.get("BOT_LOG_LEVEL", "WARNING").upper()
    if level_name not in LOG_LEVELS:
        print(f"error: BOT_LOG_LEVEL: {level_name!r} is not one of {', '.join(LOG_LEVELS)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else level_name,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result: int = handler(args)
    except BrokenPipeError:
        # `... | head` closed the pipe: normal for a command line tool, not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return result
