"""``python -m bot run`` (also plain ``python -m bot``): serve customers on every configured channel.

Always the web channel (the sample page with the chat widget, ``BOT_WEB_HOST``:``BOT_WEB_PORT``, see
docs/web.md), and Telegram as well when ``TELEGRAM_BOT_TOKEN`` is set (docs/telegram.md), in one process and
one event loop: one database connection, one conversation engine, one intents folder. The terminal chat is
``python -m bot chat``. Exit codes: 0 stopped cleanly, 1 the intents folder or Telegram failed at start-up,
2 configuration missing or malformed (one line names the variable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import config as shared
from bot.channels.telegram.config import ConfigError, TelegramConfig
from bot.channels.telegram.config import load as load_telegram
from bot.channels.web.config import WebConfig, WebConfigError
from bot.channels.web.config import load as load_web
from bot.cli import logs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from starlette.routing import BaseRoute

    from bot.channels.web.runtime import WebServer
    from bot.content.brain import Brain
    from bot.content.loader import LoadResult
    from bot.service.engine import ConversationService
    from bot.storage import Database
    from bot.storage.notify import Notifications

SNOOZE_CHECK_SECONDS = 30.0
HEARTBEAT_SECONDS = 20.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "run",
        help="serve customers: the web chat (and Telegram if TELEGRAM_BOT_TOKEN is set)",
        description="Serve the web chat widget and its sample page (BOT_WEB_HOST, BOT_WEB_PORT; see "
        "docs/web.md) and, when TELEGRAM_BOT_TOKEN is set, Telegram (TELEGRAM_* variables, see "
        "docs/telegram.md) in the same process. The terminal chat is `python -m bot chat`.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        telegram = load_telegram()
        web = load_web()
    except (ConfigError, WebConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(telegram, web))


def _say(line: str) -> None:
    logs.say(line)  # "carebot: ..." (a JSON record with BOT_LOG_FORMAT=json)


async def _serve(telegram: TelegramConfig | None, web: WebConfig) -> int:
    # Imported here so that `python -m bot queue ...` does not pay for the servers' start-up.
    from telegram.error import InvalidToken, TelegramError

    from bot.content.problems import ContentError
    from bot.content.stoppable import load_unless_stopped
    from bot.storage import Database, StorageError

    intents = telegram.intents if telegram else shared.intents_dir()
    database = telegram.database if telegram else shared.database()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _say(f"loading the intents folder {intents}")
    try:
        # A SIGTERM while a big folder loads stops the bot at once (an orchestrator need not kill it).
        loaded = await load_unless_stopped(intents, stop)
    except ContentError as error:
        print(f"error: the intents folder {intents} has problems:\n{error}", file=sys.stderr)
        return 1
    if loaded is None:
        _say("stopped while loading the intents folder")
        return 0
    try:
        db = await Database.open(database)
    except StorageError as error:
        print(f"error: BOT_DATABASE: {error}", file=sys.stderr)
        return 2
    try:
        async with db:
            if telegram is None:
                await _serve_without_telegram(db, loaded, intents, web, stop)
            else:
                await _serve_with_telegram(db, loaded, telegram, web, stop)
    except (ConfigError, WebConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except InvalidToken:
        print(
            "error: TELEGRAM_BOT_TOKEN: Telegram rejected the token (revoked or mistyped?)", file=sys.stderr
        )
        return 2
    except TelegramError as error:
        message = str(error).replace(telegram.token, "<token>") if telegram else str(error)
        print(f"error: could not start on Telegram: {message}", file=sys.stderr)
        return 1
    _say("stopped")
    return 0


def _announce(url: str, has_inbox: bool) -> None:
    _say(f"the chat widget's sample page: {url}/  (open it in a browser)")
    if has_inbox:
        _say(f"the staff inbox: {url}/inbox")


async def _serve_with_telegram(
    db: Database, loaded: LoadResult, telegram: TelegramConfig, web_config: WebConfig, stop: asyncio.Event
) -> None:
    from bot.channels.telegram.app import protect_logs
    from bot.channels.telegram.runtime import TelegramBot
    from bot.channels.web.runtime import WebServer
    from bot.storage.notify import Notifications

    protect_logs(telegram.token)
    bot = TelegramBot(telegram, db, loaded)
    servers: list[WebServer] = []

    def wake() -> None:
        bot.wake()
        for server in servers:
            server.sender.wake()

    notifications = Notifications(db)
    routes = _extra_routes(
        db, bot.conversation, web_config, wake=wake, notify_staff=True, notifications=notifications
    )
    web = WebServer(db, bot.conversation, web_config, extra_routes=routes, notifications=notifications)
    servers.append(web)
    web.bind()
    mode = f"webhook {telegram.webhook.url}" if telegram.webhook else "polling"
    _say(f"starting on Telegram ({mode}); staff chat {telegram.staff_chat_id}")
    async with bot.running():
        _announce(web.url, _has_inbox(web))
        _say("Ctrl+C stops")
        await web.serve(stop)


async def _serve_without_telegram(
    db: Database, loaded: LoadResult, intents: Path, web_config: WebConfig, stop: asyncio.Event
) -> None:
    from bot.content.brain import Brain
    from bot.content.problems import ContentError
    from bot.content.reload import ContentWatcher
    from bot.service.replicas import SharedContentReload

    conversation, web = web_service(db, await asyncio.to_thread(Brain.build, loaded.content), web_config)
    web.bind()

    async def reloaded(result: LoadResult) -> None:
        conversation.swap_brain(await asyncio.to_thread(Brain.build, result.content))

    def broken(error: ContentError) -> None:
        _say(f"the intents folder has errors; still serving the last good version\n{error}")

    watcher = ContentWatcher(
        intents, on_reload=reloaded, on_error=broken, initial=loaded, shared=SharedContentReload(db)
    )
    await conversation.recover()
    _say("Telegram is off because TELEGRAM_BOT_TOKEN is not set (docs/telegram.md)")
    _announce(web.url, _has_inbox(web))
    _say("Ctrl+C stops")
    background = [
        asyncio.create_task(watcher.run(stop), name="content-watcher"),
        asyncio.create_task(_wake_snoozed(db, stop), name="snooze"),
    ]
    heartbeat = os.environ.get("BOT_HEARTBEAT", "").strip()
    if heartbeat:
        background.append(asyncio.create_task(_heartbeat(Path(heartbeat), web, stop), name="heartbeat"))
    try:
        await web.serve(stop)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)


def web_service(db: Database, brain: Brain, config: WebConfig) -> tuple[ConversationService, WebServer]:
    """The conversation engine and the web server (the widget, with the staff inbox beside it) as ``run``
    serves them without Telegram; the end-to-end browser test builds exactly this.

    An enqueued reply, whoever made it (the engine, an inbox action), wakes the server's sender at once.
    """
    from bot.channels.web.runtime import WebServer
    from bot.service.engine import ConversationService
    from bot.storage.notify import Notifications

    servers: list[WebServer] = []

    def wake() -> None:
        for server in servers:
            server.sender.wake()

    conversation = ConversationService(db, brain, on_enqueued=wake)
    notifications = Notifications(db)
    routes = _extra_routes(
        db, conversation, config, wake=wake, notify_staff=False, notifications=notifications
    )
    web = WebServer(db, conversation, config, extra_routes=routes, notifications=notifications)
    servers.append(web)
    return conversation, web


async def _wake_snoozed(db: Database, stop: asyncio.Event) -> None:
    """Snoozed tickets whose time has come go back to the queue, on the one replica holding the job's
    lease (Telegram's runtime has its own job)."""
    from bot.service.replicas import run_job

    async def wake() -> None:
        await db.wake_snoozed(datetime.now(UTC))

    await run_job(db, "snooze", wake, stop, every=SNOOZE_CHECK_SECONDS)


async def _heartbeat(path: Path, web: WebServer, stop: asyncio.Event) -> None:
    """Touch ``BOT_HEARTBEAT`` while the web server runs (the container's health check reads it; with
    Telegram, its runtime touches the file instead)."""
    touched = False
    while not stop.is_set():
        if web.running:
            await asyncio.to_thread(path.touch)
            touched = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HEARTBEAT_SECONDS if touched else 0.5)


def _extra_routes(
    db: Database,
    conversation: ConversationService,
    config: WebConfig,
    *,
    wake: Callable[[], None],
    notify_staff: bool,
    notifications: Notifications | None = None,
) -> Sequence[BaseRoute]:
    """Other web surfaces served beside the widget on the same port: the staff inbox (docs/inbox.md),
    ``/readyz`` and ``/metrics`` (docs/scaling.md).

    ``notify_staff`` is True when a Telegram staff group carries the staff notifications (without one their
    outbox rows would only wait); ``wake`` lets every sender of this process deliver an action's replies at
    once.
    """
    from bot.channels.web.health import Health
    from bot.channels.web.inbox import InboxDeps, inbox_routes

    deps = InboxDeps(
        db=db,
        renderer=lambda: conversation.brain.renderer,
        notify_staff=notify_staff,
        wake=wake,
        notifications=notifications,
    )
    health = Health(db, conversation.metrics, lambda: conversation.brain, token=config.metrics_token)
    return [*inbox_routes(deps), *health.routes()]


def _has_inbox(web: WebServer) -> bool:
    return any(getattr(route, "path", None) == "/inbox" for route in web.app.routes)
