"""``python -m bot chat``: be the customer, in the terminal, through the full pipeline.

Everything is real: the intents folder is loaded and watched for changes, messages and tickets go to the
SQLite file, and replies come out of the outbox, so a ticket opened here can be answered from another
terminal with ``python -m bot queue reply``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from bot import config
from bot.channels.terminal import NAME, TerminalChannel
from bot.content.brain import Brain
from bot.content.loader import ContentError, LoadResult, load_folder
from bot.content.reload import ContentWatcher
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.storage import Database


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("chat", help="chat with the bot in the terminal, as a customer")
    add_arguments(parser)
    parser.set_defaults(handler=run_chat)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--intents", type=Path, help="intents folder (default: $BOT_INTENTS or intents/)")
    parser.add_argument(
        "--database",
        type=config.database_location,
        help="SQLite file or postgresql:// URL (default: $BOT_DATABASE or data/bot.db)",
    )
    parser.add_argument("--user", help="customer id in the database (default: your login name)")
    parser.add_argument("--name", help="customer display name (default: your login name)")
    parser.add_argument("--language", help="language hint, as a channel would send it (e.g. de, en)")
    parser.add_argument("--explain", action="store_true", help="show why the bot decided what it did")


def run_chat(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_chat(args, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        return 130


def _login() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "customer"


async def _chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    intents = getattr(args, "intents", None) or config.intents_dir()
    database = getattr(args, "database", None) or config.database()
    try:
        loaded = await asyncio.to_thread(load_folder, intents)
    except ContentError as error:
        print(f"The intents folder {intents} has problems:\n{error}", file=sys.stderr)
        return 1
    user = getattr(args, "user", None) or _login()
    name = getattr(args, "name", None) or user
    hint = getattr(args, "language", None) or _language_from_locale()
    explain = bool(getattr(args, "explain", False))
    interactive = stdin.isatty()

    channel = TerminalChannel(stdout)
    # Beside the SQLite file; with PostgreSQL beside the default file's folder (the server has no folder).
    log_file = (database if isinstance(database, Path) else config.DEFAULT_DATABASE).with_name("chat.log")
    await asyncio.to_thread(log_file.parent.mkdir, parents=True, exist_ok=True)
    async with await Database.open(database) as db, _logs_to(log_file):
        sender = OutboxSender(db, {NAME: channel}, recipients={NAME: frozenset({user})})
        brain = Brain.build(loaded.content)
        service = ConversationService(db, brain, on_enqueued=sender.wake)

        async def reloaded(result: LoadResult) -> None:
            # Compiling the matcher takes a few hundred ms: off the event loop, then one swap.
            service.swap_brain(await asyncio.to_thread(Brain.build, result.content))
            channel.notice("[the intents folder changed: now serving the new version]")

        def broken(error: ContentError) -> None:
            # Said once, above the prompt; the details also go to the log file, not a second time here.
            channel.notice(f"[the intents folder has errors; still serving the last good version]\n{error}")

        watcher = ContentWatcher(intents, on_reload=reloaded, on_error=broken, initial=loaded)
        stop = asyncio.Event()
        background = [
            asyncio.create_task(sender.run(stop, interval=1.0)),
            asyncio.create_task(watcher.run(stop)),
        ]
        stdout.write(
            f"Chatting as customer '{name}' with the bot ({len(loaded.content.intents)} intents from {intents}, "
            f"matcher {brain.index.description}; tickets in {database}; log in {log_file}).\nType a message; a number picks a choice; /human asks for a person; "
            "/quit ends.\n"
        )
        lines = _read_lines(stdin)
        await service.recover()
        start = channel.inbound("/start", user_id=user, display_name=name, language_hint=hint)
        assert start is not None
        await service.greet(start, again=False)
        await sender.run_once()
        try:
            while True:
                if interactive:
                    stdout.write("you> ")
                    stdout.flush()
                    channel.prompt = "you> "
                line = await lines.get()
                channel.prompt = None
                if line is None:
                    break
                if line.strip() in {"/quit", "/exit"}:
                    break
                inbound = channel.inbound(line, user_id=user, display_name=name, language_hint=hint)
                if inbound is None:
                    continue
                if inbound.text.startswith("/language"):
                    wanted = inbound.text.removeprefix("/language").strip()
                    if not await service.set_language(inbound, wanted):
                        langs = ", ".join(service.brain.content.settings.languages)
                        stdout.write(f"[usage: /language LANG, one of {langs}]\n")
                elif inbound.text == "/start":
                    await service.greet(inbound)
                else:
                    report = await service.handle(inbound)
                    if explain:
                        stdout.write(f"     · {report.outcome}: {report.explanation}\n")
                await sender.run_once()
        finally:
            stop.set()
            await asyncio.gather(*background, return_exceptions=True)
            await sender.run_once()
    return 0


@contextlib.asynccontextmanager
async def _logs_to(path: Path) -> AsyncIterator[None]:
    """Log records go to ``path`` while the chat runs: printed to the terminal they land in the middle of
    the conversation, and a reload warning the chat already shows would appear twice."""
    root = logging.getLogger()
    moved = [h for h in root.handlers if type(h) is logging.StreamHandler]
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in moved:
        root.removeHandler(old)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for old in moved:
            root.addHandler(old)


def _read_lines(stdin: TextIO) -> asyncio.Queue[str | None]:
    """Typed lines, read by a daemon thread; ``None`` at end of input.

    ``asyncio.to_thread`` would park a blocking ``readline`` in the default executor, and ``asyncio.run``
    waits for that executor on exit: Ctrl+C would then hang until Enter. A daemon thread never holds up exit.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in iter(stdin.readline, ""):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the chat has ended and its loop is closed
                return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return queue


def _language_from_locale() -> str | None:
    """The terminal's locale plays the part of Telegram's ``language_code``."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value and value not in {"C", "POSIX"} and not value.startswith("C."):
            return value.split("_")[0].split(".")[0].lower() or None
    return None
