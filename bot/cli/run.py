"""``python -m bot run`` (also plain ``python -m bot``): serve customers.

On Telegram when ``TELEGRAM_BOT_TOKEN`` is set (see docs/telegram.md), otherwise in the terminal chat, so a
fresh checkout does something useful without any account. Exit codes: 0 stopped cleanly, 1 the intents
folder or Telegram failed at start-up, 2 configuration missing or malformed (one line names the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from bot.channels.telegram.config import ConfigError, TelegramConfig, load


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "run",
        help="serve customers: on Telegram if TELEGRAM_BOT_TOKEN is set, else in the terminal",
        description="Serve customers on Telegram (configured by TELEGRAM_* variables, see docs/telegram.md); "
        "without TELEGRAM_BOT_TOKEN, chat with the bot in the terminal instead.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if config is None:
        from bot.cli.chat import run_chat  # the terminal fallback; not needed on a server

        return run_chat(args)
    return asyncio.run(_serve(config))


async def _serve(config: TelegramConfig) -> int:
    # Imported here so that the terminal fallback does not pay for PTB's start-up.
    from telegram.error import InvalidToken, TelegramError

    from bot.channels.telegram.app import protect_logs
    from bot.channels.telegram.runtime import serve
    from bot.content.problems import ContentError

    protect_logs(config.token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    mode = f"webhook {config.webhook.url}" if config.webhook else "polling"
    print(
        f"carebot: starting on Telegram ({mode}); staff chat {config.staff_chat_id}; Ctrl+C stops",
        file=sys.stderr,
    )
    try:
        await serve(config, stop)
    except ContentError as error:
        print(f"error: the intents folder {config.intents} has problems:\n{error}", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except InvalidToken:
        print(
            "error: TELEGRAM_BOT_TOKEN: Telegram rejected the token (revoked or mistyped?)", file=sys.stderr
        )
        return 2
    except TelegramError as error:
        message = str(error).replace(config.token, "<token>")
        print(f"error: could not start on Telegram: {message}", file=sys.stderr)
        return 1
    print("carebot: stopped", file=sys.stderr)
    return 0
