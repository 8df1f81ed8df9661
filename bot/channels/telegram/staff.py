"""The staff group: card buttons, messages in ticket topics, and the staff commands.

Only the configured staff chat is served, and only its members act: every handler is filtered on the chat,
and the person behind a command or a button press is checked with ``getChatMember`` (cached), so the same
command from a private chat or another group does nothing. Replies to the staff group are sent from
background tasks, never awaited in a handler: a throttled group must not hold up customers' updates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from telegram import Message, Update, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram.app import TelegramApp, in_background
from bot.channels.telegram.text import split_text, truncate
from bot.channels.telegram.threads import Outgoing, ReplyThreads
from bot.channels.telegram.topics import ECHOLESS_SOURCE, STAFF_CHANNEL, STAFF_PREFIX
from bot.content.reload import ContentWatcher
from bot.core.agents import agent_label
from bot.core.model import Author
from bot.service.staff import StaffError, StaffService, TicketHeld
from bot.storage import Database
from bot.storage.reports import queue_entries, stats

log = logging.getLogger(__name__)

SOURCE = ECHOLESS_SOURCE
"""``StaffService`` source for actions taken in the group (the relay does not echo them back)."""

SNOOZE = timedelta(hours=1)
MEMBER_CACHE_SECONDS = 300.0
"""How long a getChatMember answer is trusted. Telegram's ``chat_member`` updates replace it at once; without
them (the bot is not an administrator) a removal takes effect within this time (docs/telegram.md)."""
STAFF_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}


def explain(error: StaffError) -> str:
    """The service's reason, with this group's way of taking a ticket over."""
    if isinstance(error, TicketHeld):
        return f"{error.situation}; take it over with /claim force first"
    return str(error)


def agent_name(user: User | None) -> str:
    """How staff appear to customers (``agent_reply``): their first name."""
    return (user.first_name or user.username or str(user.id)) if user else "staff"


def agent(user: User | None) -> str:
    """Who acts, as stored: ``"Mia [tg:4711]"``. The Telegram user id decides who owns a ticket (names are
    free for anyone to choose); the first name is for people (see :mod:`bot.core.agents`)."""
    return agent_label(agent_name(user), f"tg:{user.id}") if user else "staff"


class StaffDesk:
    def __init__(
        self,
        db: Database,
        staff: StaffService,
        chat_id: int,
        watcher: ContentWatcher,
        wake: Callable[[], None],
        threads: ReplyThreads,
    ) -> None:
        self.db = db
        self.staff = staff
        self.chat_id = chat_id
        self.watcher = watcher
        self.wake = wake
        self.threads = threads
        self._members: dict[int, tuple[bool, float]] = {}
        self._ignored_chats: set[int] = set()

    def register(self, app: TelegramApp) -> None:
        staff_chat = filters.Chat(chat_id=self.chat_id)
        app.add_handler(CallbackQueryHandler(self.on_card_button, pattern=f"^{STAFF_PREFIX}"))
        for name, callback in (
            ("queue", self.on_queue),
            ("claim", self.on_claim),
            ("resolve", self.on_resolve),
            ("note", self.on_note),
            ("stats", self.on_stats),
            ("reload", self.on_reload),
        ):
            app.add_handler(CommandHandler(name, callback, filters=staff_chat))
        in_topic = staff_chat & filters.IS_TOPIC_MESSAGE & ~filters.COMMAND
        app.add_handler(MessageHandler(in_topic & filters.UpdateType.MESSAGE, self.on_topic_message))
        app.add_handler(
            MessageHandler(in_topic & filters.UpdateType.EDITED_MESSAGE & filters.TEXT, self.on_edit)
        )
        app.add_handler(MessageHandler(filters.ChatType.GROUPS & ~staff_chat, self.on_other_group))
        app.add_handler(
            ChatMemberHandler(self.on_member, ChatMemberHandler.CHAT_MEMBER, chat_id=self.chat_id)
        )

    # --- who is staff -------------------------------------------------------------------------------

    async def is_staff(self, user: User | None, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """A current member of the staff chat (cached for a few minutes)."""
        if user is None or user.is_bot:
            return False
        cached = self._members.get(user.id)
        if cached is not None and time.monotonic() - cached[1] < MEMBER_CACHE_SECONDS:
            return cached[0]
        try:
            member = await context.bot.get_chat_member(self.chat_id, user.id)
        except TelegramError as error:
            log.warning("could not check staff membership of user %s: %s", user.id, error)
            return False
        allowed = member.status in STAFF_STATUSES or bool(getattr(member, "is_member", False))
        self._members[user.id] = (allowed, time.monotonic())
        return allowed

    async def on_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Telegram reports a membership change in the staff group (``chat_member``, sent to bots that are
        administrators): it applies at once instead of when the cached answer expires."""
        change = update.chat_member
        if change is None:
            return
        member = change.new_chat_member
        allowed = member.status in STAFF_STATUSES or bool(getattr(member, "is_member", False))
        self._members[member.user.id] = (allowed and not member.user.is_bot, time.monotonic())
        log.info(
            "staff group membership of user %s is now %s%s",
            member.user.id,
            member.status,
            "" if allowed else ": no longer acts as staff",
        )

    # --- saying things in the group -----------------------------------------------------------------

    def _say(self, context: ContextTypes.DEFAULT_TYPE, text: str, thread_id: int | None) -> None:
        """Answer in the group (plain text, split if long) without holding up the update loop."""

        async def send() -> None:
            for part in split_text(text):
                await context.bot.send_message(chat_id=self.chat_id, message_thread_id=thread_id, text=part)

        in_background(context, send(), "answering in the staff group")

    async def _ticket_id(self, message: Message, args: list[str]) -> int | None:
        """The ticket a command is about: an explicit id, else the topic it was written in."""
        if args and args[0].lstrip("#").isdigit():
            return int(args[0].lstrip("#"))
        if message.is_topic_message and message.message_thread_id is not None:
            ticket = await self.db.ticket_by_thread(STAFF_CHANNEL, message.message_thread_id)
            return ticket.id if ticket else None
        return None

    async def _command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
        message = update.effective_message
        if message is None or not await self.is_staff(update.effective_user, context):
            return None
        return message

    # --- card buttons -------------------------------------------------------------------------------

    async def on_card_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Claim, Resolve, Snooze, Back to bot: the answer pops up for the one who pressed."""
        query = update.callback_query
        assert query is not None and query.data is not None
        in_staff_chat = query.message is not None and query.message.chat.id == self.chat_id
        if not in_staff_chat or not await self.is_staff(query.from_user, context):
            in_background(
                context, query.answer("Only the support team can do this.", show_alert=True), "answer"
            )
            return
        parts = query.data.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            in_background(context, query.answer("This button is not valid.", show_alert=True), "answer")
            return
        action, ticket_id = parts[1], int(parts[2])
        try:
            answer = await self._act(action, ticket_id, agent(query.from_user))
        except StaffError as error:
            answer = explain(error)
        self.wake()
        in_background(context, query.answer(truncate(answer, 200), show_alert=True), "answer")

    async def _act(self, action: str, ticket_id: int, who: str, *, force: bool = False) -> str:
        if action == "claim":
            if await self.staff.claim(ticket_id, who, force=force):
                return f"Ticket #{ticket_id} is yours."
            ticket = await self.db.ticket(ticket_id)
            holder = ticket.assignee if ticket else None
            return (
                f"{holder} already has ticket #{ticket_id}." if holder else f"Ticket #{ticket_id} is taken."
            )
        if action == "resolve":
            await self.staff.resolve(ticket_id, who)
            return f"Ticket #{ticket_id} resolved; the customer is asked for a rating."
        if action == "snooze":
            await self.staff.snooze(ticket_id, who, datetime.now(UTC) + SNOOZE)
            return f"Ticket #{ticket_id} snoozed for an hour (or until the customer writes)."
        if action == "handback":
            await self.staff.handback(ticket_id, who)
            return f"Ticket #{ticket_id} is back with the bot."
        return f"Unknown action {action!r}."

    # --- messages in ticket topics ------------------------------------------------------------------

    async def on_topic_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Whatever a staff member writes in a ticket's topic goes to the customer."""
        message = update.effective_message
        if message is None or message.message_thread_id is None or message.from_user is None:
            return
        if message.from_user.is_bot:
            if message.sender_chat is not None and message.sender_chat.id == self.chat_id:
                # An admin posting "anonymously" as the group: we cannot tell who answers the customer.
                note = "Not sent: switch off 'Remain anonymous' in your admin rights to answer customers."
                self._say(context, note, message.message_thread_id)
            return
        ticket = await self.db.ticket_by_thread(STAFF_CHANNEL, message.message_thread_id)
        if ticket is None or not await self.is_staff(message.from_user, context):
            return
        text = message.text or message.caption or ""
        if not message.text:
            note = "Only text reaches the customer; this attachment stays in the group."
            self._say(context, note, message.message_thread_id)
            if not text:
                return
        who = agent(message.from_user)
        await self._expect_reply(ticket.customer_id, who, text, message)
        try:
            await self.staff.reply(ticket.id, who, text)
        except StaffError as error:
            self._say(context, f"Not sent: {explain(error)}", message.message_thread_id)
            return
        self.wake()
        sent = [
            m for m in await self.db.ticket_messages(ticket.id) if m.author is Author.AGENT and not m.private
        ]
        if sent:
            # The pair (topic message, stored reply) lets an edit in the topic reach the customer's copy.
            await self.db.link_messages(sent[-1].id, STAFF_CHANNEL, self.chat_id, message.message_id)

    async def _expect_reply(self, customer_id: int, agent: str, text: str, message: Message) -> None:
        """Tell the channel, before the reply is queued, which customer message it answers (if any).

        A staff member who uses Telegram's "reply" on a mirrored customer message in the topic gets the
        customer's copy threaded under the customer's original message.
        """
        customer = await self.db.customer(customer_id)
        if customer is None:
            return
        reply_to = None
        answered = message.reply_to_message
        if answered is not None and answered.forum_topic_created is None:
            original = await self.db.message_by_external(STAFF_CHANNEL, self.chat_id, answered.message_id)
            if original is not None and original.author is Author.CUSTOMER and original.channel_message_id:
                reply_to = int(original.channel_message_id)
        wrapped = self.staff.renderer().agent_reply(agent, text.strip(), customer.language)
        self.threads.outgoing.put((customer.external_id, wrapped), Outgoing(reply_to, message.message_id))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A staff member corrected a reply: the customer's copy is corrected too."""
        message = update.edited_message
        if message is None or message.text is None:
            return
        stored = await self.db.message_by_external(STAFF_CHANNEL, self.chat_id, message.message_id)
        if stored is None or stored.author is not Author.AGENT or stored.channel_message_id is None:
            return
        customer = await self.db.customer(stored.customer_id)
        if customer is None:
            return
        renderer = self.staff.renderer()
        text = renderer.agent_reply(agent_name(message.from_user), message.text.strip(), customer.language)
        try:
            await context.bot.edit_message_text(
                chat_id=int(customer.external_id), message_id=int(stored.channel_message_id), text=text
            )
        except TelegramError as error:
            self._say(context, f"The customer's copy could not be edited: {error}", message.message_thread_id)

    async def on_other_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Ignore other groups, but name each once in the log: that is how operators find the staff id."""
        chat = update.effective_chat
        if chat is not None and chat.id not in self._ignored_chats:
            self._ignored_chats.add(chat.id)
            log.warning("ignoring chat %s (%r): not TELEGRAM_STAFF_CHAT_ID", chat.id, chat.title)

    # --- commands -----------------------------------------------------------------------------------

    async def on_queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/queue``: active tickets, most urgent first."""
        message = await self._command(update, context)
        if message is None:
            return
        now = datetime.now(UTC)
        async with self.db.snapshot() as tx:
            entries = await queue_entries(tx, now, limit=30)
        lines = [
            f"#{e.ticket.id} {e.ticket.priority.value} {e.ticket.status.value}"
            f"{' (' + e.ticket.assignee + ')' if e.ticket.assignee else ''} · {e.customer.display_name}"
            f" · waiting {int(e.waited.total_seconds() // 60)} min{' · OVERDUE' if e.overdue else ''}"
            for e in entries
        ]
        self._say(context, "\n".join(lines) or "The queue is empty.", message.message_thread_id)

    async def _ticket_command(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, action: str, usage: str
    ) -> None:
        message = await self._command(update, context)
        if message is None:
            return
        ticket_id = await self._ticket_id(message, list(context.args or []))
        if ticket_id is None:
            self._say(context, usage, message.message_thread_id)
            return
        try:
            force = "force" in (context.args or [])
            answer = await self._act(action, ticket_id, agent(message.from_user), force=force)
        except StaffError as error:
            answer = explain(error)
        self.wake()
        self._say(context, answer, message.message_thread_id)

    async def on_claim(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/claim [id]``: in a ticket's topic the id is implied."""
        await self._ticket_command(
            update, context, "claim", "Usage: /claim in a ticket's topic, or /claim ID"
        )

    async def on_resolve(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/resolve [id]``: close, tell the customer, ask for a rating."""
        await self._ticket_command(
            update, context, "resolve", "Usage: /resolve in a ticket's topic, or /resolve ID"
        )

    async def on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/note text``: an internal note on the topic's ticket; never sent to the customer."""
        message = await self._command(update, context)
        if message is None:
            return
        ticket_id = await self._ticket_id(message, [])
        text = " ".join(context.args or [])
        if ticket_id is None or not text:
            self._say(context, "Usage: /note TEXT, in a ticket's topic", message.message_thread_id)
            return
        try:
            await self.staff.note(ticket_id, agent(message.from_user), text)
        except StaffError as error:
            self._say(context, str(error), message.message_thread_id)

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/stats``: the queue and the last 30 days in a few lines."""
        message = await self._command(update, context)
        if message is None:
            return
        async with self.db.snapshot() as tx:
            numbers = await stats(tx, datetime.now(UTC))
        active = sum(n for by_status in numbers.active_by_priority.values() for n in by_status.values())
        share = numbers.bot_resolved_share
        lines = [
            f"Active tickets: {active} ({numbers.overdue_first_response} overdue)",
            f"Median first response: {_duration(numbers.median_first_response)}",
            f"Median resolution: {_duration(numbers.median_resolution)}",
            f"Answered by the bot alone: {'–' if share is None else f'{share:.0%}'} of {numbers.conversations}",
            f"Ratings: {numbers.ratings}"
            + (f", average {numbers.csat_average:.1f}/5" if numbers.csat_average is not None else ""),
            f"Outbox: {numbers.outbox_pending} pending, {numbers.outbox_failed} failed",
        ]
        self._say(context, f"Last {numbers.days} days\n" + "\n".join(lines), message.message_thread_id)

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/reload``: check the intents folder now instead of waiting for the watcher's next look."""
        message = await self._command(update, context)
        if message is None:
            return
        outcome = await self.watcher.check_now(everywhere=True)  # every replica checks its folder
        self._say(context, str(outcome), message.message_thread_id)


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "–"
    minutes = value.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"
