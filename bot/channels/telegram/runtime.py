"""Everything ``python -m bot run`` starts for Telegram, wired once, so tests run exactly the same thing.

:class:`TelegramBot` owns the PTB ``Application`` (from :func:`build_application`; its handlers, job queue
and rate limiter, but not its Updater), the inbox that receives updates (polling or webhook) and feeds the
handlers from storage, the conversation engine, the outbox sender for customers, the topic relay for staff
and the content watcher. :func:`serve` runs it until a stop event is set; the CLI sets that event on
SIGINT/SIGTERM, tests set it when they are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import BaseRateLimiter, ContextTypes
from telegram.request import BaseRequest

from bot.channels.telegram.app import (
    ALLOWED_UPDATES,
    SplitRateLimiter,
    TelegramApp,
    build_application,
    default_rate_limiter,
)
from bot.channels.telegram.budget import SharedBudget
from bot.channels.telegram.channel import CHANNEL_NAME, TelegramChannel
from bot.channels.telegram.config import ConfigError, TelegramConfig
from bot.channels.telegram.customers import CustomerHandlers
from bot.channels.telegram.inbox import UpdateInbox
from bot.channels.telegram.polling import Poller
from bot.channels.telegram.staff import SOURCE, StaffDesk
from bot.channels.telegram.text import MAX_MESSAGE, truncate
from bot.channels.telegram.threads import ReplyThreads
from bot.channels.telegram.topics import TopicRelay
from bot.channels.telegram.webhook import WebhookServer
from bot.content.brain import Brain
from bot.content.loader import LoadResult
from bot.content.problems import ContentError
from bot.content.reload import ContentWatcher
from bot.content.stoppable import load_unless_stopped
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.service.metrics import Metrics
from bot.service.replicas import SharedContentReload
from bot.service.staff import StaffService
from bot.storage import Database, StorageError
from bot.storage.coordination import JOB

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = (
    BotCommand("start", "Start / Hallo"),
    BotCommand("language", "Language / Sprache"),
    BotCommand("human", "Talk to a human / Mensch"),
)
STAFF_COMMANDS = (
    BotCommand("queue", "Open tickets, most urgent first"),
    BotCommand("claim", "Claim this topic's ticket (or /claim ID)"),
    BotCommand("resolve", "Resolve this topic's ticket"),
    BotCommand("note", "Internal note, never sent to the customer"),
    BotCommand("stats", "Queue and service statistics"),
    BotCommand("reload", "Reload the intents folder now"),
)

SNOOZE_CHECK_SECONDS = 30.0
HEARTBEAT_SECONDS = 20.0


def log_error(update: object, error: BaseException | None) -> None:
    """Log a failure outside the inbox's updates (a job, a background call), never with the bot token."""
    where = "no update"
    if isinstance(update, Update):
        chat = update.effective_chat
        where = f"update {update.update_id} in chat {chat.id if chat else '?'}"
    log.error("handling %s failed: %r", where, error, exc_info=error)


class TelegramBot:
    def __init__(
        self,
        config: TelegramConfig,
        db: Database,
        content: LoadResult,
        *,
        request: BaseRequest | None = None,
        get_updates_request: BaseRequest | None = None,
        rate_limiter: BaseRateLimiter[int] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        limiter = rate_limiter or default_rate_limiter()
        if isinstance(limiter, SplitRateLimiter) and limiter.shared is None:
            limiter.shared = SharedBudget(db)  # ~30/s and 20/min per group across every replica
        self.metrics = Metrics()
        self.app: TelegramApp = build_application(
            config, request=request, get_updates_request=get_updates_request, rate_limiter=limiter
        )
        if isinstance(self.app.bot.rate_limiter, SplitRateLimiter):
            self.app.bot.rate_limiter.on_flood = self.metrics.flood  # every 429, waited out or not
        self.threads = ReplyThreads()
        self.channel = TelegramChannel(self.app.bot, self.threads)
        self.sender = OutboxSender(db, {CHANNEL_NAME: self.channel}, metrics=self.metrics)
        self.topics = TopicRelay(db, self.app.bot, config.staff_chat_id, self.threads)
        brain = Brain.build(content.content)
        log.info("matcher: %s", brain.index.description)
        self.conversation = ConversationService(
            db, brain, notify_staff=True, on_enqueued=self.wake, metrics=self.metrics
        )
        self.watcher = ContentWatcher(
            config.intents,
            on_reload=self._reloaded,
            on_error=self._broken,
            initial=content,
            shared=SharedContentReload(db),
        )
        self.customers = CustomerHandlers(self.conversation, db, self.channel, self.topics.wake)
        self.staff = StaffService(db, lambda: self.conversation.brain.renderer, source=SOURCE)
        self.desk = StaffDesk(db, self.staff, config.staff_chat_id, self.watcher, self.wake, self.threads)
        self.customers.register(self.app)
        self.desk.register(self.app)
        self.customers.register_buttons(self.app)  # after the desk's, which claims the staff: prefix
        self.inbox = UpdateInbox(db, self.app)
        self.app.add_error_handler(self._on_error)
        self._tasks: list[asyncio.Task[None]] = []
        self._receiving: tuple[asyncio.Task[None], Poller] | WebhookServer | None = None

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler raised: the inbox retries its own updates and logs them once; the rest is logged here."""
        if context.error is not None and self.inbox.handler_failed(update, context.error):
            return
        log_error(update, context.error)

    def wake(self) -> None:
        """Something was queued: deliver now instead of on the next tick."""
        self.sender.wake()
        self.topics.wake()

    def _reloaded(self, result: LoadResult) -> None:
        self.conversation.swap_brain(Brain.build(result.content))

    def _broken(self, error: ContentError) -> None:
        """Tell the staff group (the watcher has logged it): editors may not read the server's log."""
        text = f"⚠️ The intents folder has errors; the bot keeps serving the last good version.\n{error}"
        self.app.create_task(self._announce(truncate(text, MAX_MESSAGE)))

    async def _announce(self, text: str) -> None:
        try:
            await self.app.bot.send_message(chat_id=self.config.staff_chat_id, text=text)
        except TelegramError as error:
            log.warning("could not tell the staff group: %s", error)

    async def _wake_snoozed(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Snoozed tickets whose time has come go back to the queue (and their topics say so): on the one
        replica holding the job's lease."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=3 * SNOOZE_CHECK_SECONDS)
        if await self.db.take_lease(JOB, "snooze", self.sender.owner, now=now, until=until) is None:
            return  # another replica runs it
        async with self.db.transaction() as tx:
            for ticket_id in await tx.wake_snoozed(now):
                await tx.enqueue_staff(
                    "ticket_updated", ticket_id, {"text": "⏰ Snooze ended: back in the queue"}, now
                )
        self.topics.wake()

    async def _heartbeat(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Touch the heartbeat file while updates are being received and processed and both delivery
        loops run."""
        path = self.config.heartbeat
        receiving = self._receiving
        if isinstance(receiving, WebhookServer):
            listening = receiving.running
        else:
            listening = receiving is not None and not receiving[0].done() and not receiving[1].failing
        healthy = listening and all(not task.done() for task in self._tasks)
        if path is not None and healthy:
            await asyncio.to_thread(path.touch)

    async def _check_staff_chat(self) -> None:
        """Warn (not fail) when the staff group cannot work: a wrong id or missing rights lose escalations."""
        chat_id = self.config.staff_chat_id
        try:
            chat = await self.app.bot.get_chat(chat_id)
            member = await self.app.bot.get_chat_member(chat_id, self.app.bot.id)
        except TelegramError as error:
            log.warning("cannot reach the staff chat %s (%s): check TELEGRAM_STAFF_CHAT_ID", chat_id, error)
            return
        if not chat.is_forum:
            log.warning(
                "the staff chat %s has topics switched off: enable them in the group's settings", chat_id
            )
        if member.status != "administrator" or not getattr(member, "can_manage_topics", False):
            log.warning("the bot is not an admin with 'Manage topics' in the staff chat %s", chat_id)

    async def _set_commands(self) -> None:
        try:
            await self.app.bot.set_my_commands(CUSTOMER_COMMANDS, scope=BotCommandScopeAllPrivateChats())
            await self.app.bot.set_my_commands(
                STAFF_COMMANDS, scope=BotCommandScopeChat(self.config.staff_chat_id)
            )
        except TelegramError as error:
            log.warning("could not register the command menus: %s", error)

    @asynccontextmanager
    async def running(self, *, poll_timeout: float = 10.0) -> AsyncIterator[TelegramBot]:
        """Start receiving (polling or the webhook endpoint), the inbox and the delivery loops; stop them
        all on exit. Updates stored but not processed before a restart are processed first."""
        stop = asyncio.Event()
        async with self.app:
            await self._check_staff_chat()
            await self._set_commands()
            await self.conversation.recover()
            await self.app.start()
            self._tasks = tasks = [
                asyncio.create_task(self.inbox.run(stop), name="inbox"),
                asyncio.create_task(self.sender.run(stop, interval=1.0), name="outbox"),
                asyncio.create_task(self.topics.run(stop, interval=1.0), name="staff-topics"),
                asyncio.create_task(self.watcher.run(stop), name="content-watcher"),
            ]
            assert self.app.job_queue is not None
            self.app.job_queue.run_repeating(self._wake_snoozed, interval=SNOOZE_CHECK_SECONDS, first=1.0)
            self.app.job_queue.run_repeating(self._heartbeat, interval=HEARTBEAT_SECONDS, first=0.5)
            webhook = self.config.webhook
            server: WebhookServer | None = None
            poll: asyncio.Task[None] | None = None
            try:
                if webhook is None:
                    poller = Poller(self.app, self.inbox, ALLOWED_UPDATES, timeout=poll_timeout)
                    await poller.start()
                    poll = asyncio.create_task(poller.run(stop), name="polling")
                    self._receiving = (poll, poller)
                else:
                    server = WebhookServer(webhook, self.inbox)
                    server.start()
                    self._receiving = server
                    await self.app.bot.set_webhook(
                        url=webhook.url, secret_token=webhook.secret, allowed_updates=list(ALLOWED_UPDATES)
                    )
                yield self
            finally:
                # Stop receiving first: whatever was confirmed to Telegram is in the inbox by then.
                if server is not None:
                    await server.stop()
                if poll is not None:
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await poll
                stop.set()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await self.app.stop()


async def serve(
    config: TelegramConfig,
    stop: asyncio.Event,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[int] | None = None,
) -> None:
    """Serve customers and staff until ``stop`` is set.

    Returns at once when ``stop`` is set while the intents folder is still loading.
    Raises ContentError for a broken intents folder, ConfigError when the database cannot be opened.
    """
    loaded = await load_unless_stopped(config.intents, stop)
    if loaded is None:
        return  # stopped (SIGTERM) while the folder was still loading
    try:
        db = await Database.open(config.database)
    except StorageError as error:  # names the file, or the server without the password
        raise ConfigError("BOT_DATABASE", str(error)) from error
    except (OSError, sqlite3.Error) as error:
        raise ConfigError("BOT_DATABASE", f"cannot open {config.database}: {error}") from error
    async with db:
        bot = TelegramBot(
            config,
            db,
            loaded,
            request=request,
            get_updates_request=get_updates_request,
            rate_limiter=rate_limiter,
        )
        async with bot.running():
            log.info("serving Telegram (%s)", "webhook" if config.webhook else "polling")
            await stop.wait()
