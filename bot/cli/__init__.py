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

from bot.cli import chat, customer, db, intents, logs, queue, run, staff
from bot.storage import StorageError

COMMANDS = (run, chat, intents, queue, db, customer, staff)
LOG_LEVELS = logs.LEVELS


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
    try:
        level_name, log_format = logs.settings(
            os.environ.get("BOT_LOG_LEVEL"), os.environ.get("BOT_LOG_FORMAT")
        )
    except logs.SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logs.configure(logging.DEBUG if args.verbose else level_name, log_format)
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
