"""The staff group's side of the outbox: one forum topic per ticket, opened by a ticket card.

Staff notifications (``ticket_created``, ``customer_message``, ``customer_edited``, ``ticket_updated``,
``customer_forgotten``) are rows of the outbox's ``staff`` channel, delivered by :class:`TopicRelay` in its
own task. Telegram lets a bot post only about 20 messages a minute into one group; the relay may wait out
those limits while customers' answers, sent by the outbox sender, keep flowing. Every message the relay posts
for a ticket is remembered (``staff_posts``), so that forgetting the customer can delete it again.

Under that limit the relay stays fair and bounded: a new ticket's topic and card go ahead of every mirrored
customer message (a chatty customer cannot hide a new ticket for minutes), and mirrored messages of one
ticket that piled up while the group was throttled leave as one message of several lines. Nothing is
dropped: every row is still delivered, in order per ticket.

A topic someone deleted is recreated (with a fresh card) the next time the ticket has news.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.channels.base import DeliveryError
from bot.channels.telegram.channel import CHANNEL_NAME, delivery_error
from bot.channels.telegram.text import MAX_TOPIC_NAME, escape, split_text, truncate
from bot.channels.telegram.threads import ReplyThreads
from bot.core.model import Author, TicketStatus
from bot.service.delivery import OutboxSender
from bot.service.replicas import kept
from bot.storage import Customer, Database, OutboxItem, StoredMessage, Ticket
from bot.storage.coordination import OUTBOX
from bot.storage.reports import FORGET_NOTIFICATION

log = logging.getLogger(__name__)

STAFF_CHANNEL = "staff"
"""The outbox channel and the ``ticket_threads``/``message_links`` channel name of the staff group."""

ECHOLESS_SOURCE = "telegram"
"""Replies and notes written in the staff group carry this source; their text is in the topic already."""

STAFF_PREFIX = "staff:"
"""Callback data of the card's buttons: ``staff:<action>:<ticket id>``."""

STATUS_ICONS = {
    TicketStatus.BOT: "🤖",
    TicketStatus.OPEN: "🆕",
    TicketStatus.ASSIGNED: "👤",
    TicketStatus.WAITING: "⏳",
    TicketStatus.SNOOZED: "💤",
    TicketStatus.RESOLVED: "✅",
}

CARD_ACTIONS = (
    ("claim", "🙋 Claim"),
    ("resolve", "✅ Resolve"),
    ("snooze", "💤 Snooze 1h"),
    ("handback", "🤖 Back to bot"),
)

BATCH_MESSAGES = 20
"""At most this many piled-up customer messages of one ticket go into one mirrored message (a longer text
is split at Telegram's 4,096 characters like any other)."""

_LOST_TOPIC = ("message thread not found", "topic_id_invalid", "topic_deleted", "thread not found")
_UNCHANGED = ("not modified", "topic_not_modified")


def topic_lost(error: TelegramError) -> bool:
    """Telegram's way of saying the topic was deleted (the wording differs per method)."""
    return isinstance(error, BadRequest) and any(marker in error.message.lower() for marker in _LOST_TOPIC)


def unchanged(error: TelegramError) -> bool:
    return isinstance(error, BadRequest) and any(marker in error.message.lower() for marker in _UNCHANGED)


def topic_name(ticket: Ticket, customer: Customer) -> str:
    """Status icon, ticket id, customer and reason: the topic list reads like the queue."""
    who = customer.display_name or customer.external_id
    return truncate(
        f"{STATUS_ICONS[ticket.status]} #{ticket.id} {who} · {ticket.reason.value}", MAX_TOPIC_NAME
    )


def card_buttons(ticket_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"{STAFF_PREFIX}{action}:{ticket_id}")]
            for action, label in CARD_ACTIONS
        ]
    )


def _analysis(messages: Sequence[StoredMessage]) -> dict[str, object]:
    for message in reversed(messages):
        if message.author is Author.CUSTOMER and message.analysis:
            loaded = json.loads(message.analysis)
            if isinstance(loaded, dict):
                return loaded
    return {}


def card_html(
    ticket: Ticket, customer: Customer, messages: Sequence[StoredMessage], earlier: Sequence[Ticket]
) -> str:
    """The ticket card: everything a human needs to pick the conversation up, escaped for HTML mode.

    Every dynamic piece is cut to a bounded length *before* escaping, so the visible text stays well under
    Telegram's 4,096 characters without ever cutting through a tag.
    """
    lines = [
        f"🎫 <b>Ticket #{ticket.id}</b> · {escape(ticket.reason.value)} · priority {escape(ticket.priority.value)}",
        f"<b>Customer:</b> {escape(truncate(customer.display_name, 100) or '?')} "
        f"({escape(customer.channel)} {escape(customer.external_id)}, language {escape(customer.language or '?')})",
    ]
    asked = [m for m in messages if m.author is Author.CUSTOMER][-5:]
    if asked:
        lines.append("<b>What the customer wrote:</b>")
        for message in asked:
            text = truncate(" ".join(message.text.split()), 500) or "(no text)"
            kind = f"[{message.attachment}] " if message.attachment else ""
            lines.append(f"<blockquote>{escape(kind + text)}</blockquote>")
    analysis = _analysis(messages)
    intents = analysis.get("intents")
    if isinstance(intents, list) and intents:
        guesses = ", ".join(
            f"{escape(truncate(str(c.get('intent')), 64))} {escape(str(c.get('score')))}" for c in intents[:3]
        )
        lines.append(f"<b>Bot's best guesses:</b> {guesses}")
    elif asked:
        lines.append("<b>Bot's best guesses:</b> none")
    reasons = ticket.anger_reasons
    if ticket.anger or reasons:
        lines.append(
            f"<b>Anger:</b> {ticket.anger:.0f}/100"
            + (f" ({escape(truncate('; '.join(reasons), 400))})" if reasons else "")
        )
    if earlier:
        listed = ", ".join(
            f"#{t.id} {escape(t.status.value)} ({escape(t.reason.value)})" for t in earlier[-5:]
        )
        lines.append(f"<b>Earlier tickets:</b> {listed}")
    else:
        lines.append("<b>Earlier tickets:</b> none")
    lines.append("Write in this topic to answer the customer; /note text adds an internal note.")
    return "\n".join(lines)


class TopicRelay(OutboxSender):
    """Delivers the outbox's ``staff`` rows into the staff group's forum topics.

    An :class:`OutboxSender` (same loop, wake-up and retry policy) whose rows are not customer messages but
    notifications that become topics, cards and status lines.
    """

    def __init__(self, db: Database, bot: Bot, chat_id: int, threads: ReplyThreads) -> None:
        super().__init__(db, {})
        self.bot = bot
        self.chat_id = chat_id
        self.threads = threads

    async def _deliver_due(self) -> int:
        """Relay the staff rows while holding the staff group's outbox lease: with several replicas one of
        them relays at a time (in order per ticket; the group's 20 messages a minute need no more)."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.lease)
        if await self.db.take_lease(OUTBOX, STAFF_CHANNEL, self.owner, now=now, until=until) is None:
            return 0  # another replica is relaying
        try:
            async with kept(self.db, OUTBOX, self.owner, seconds=self.lease):
                return await self._relay()
        finally:
            await self.db.release_leases(OUTBOX, self.owner, [STAFF_CHANNEL])

    async def _relay(self) -> int:
        """Deliver due staff rows until none is left, in order per ticket (called by ``run_once``, one round
        at a time). The due list is read again after every message sent, so a ticket created meanwhile
        goes next, ahead of older mirrored messages."""
        delivered = 0
        held: set[int | None] = set()
        while True:
            due = [
                item
                for item in await self.db.due_outbox(
                    STAFF_CHANNEL, now=datetime.now(UTC), limit=200, first_kind="ticket_created"
                )
                if item.ticket_id not in held
            ]
            if not due:
                return delivered
            unit = next_unit(due)
            try:
                if len(unit) > 1:
                    await self._mirror_batch(unit)
                else:
                    await self.deliver(unit[0])
            except TelegramError as error:
                held.add(unit[0].ticket_id)
                for item in unit:
                    await self._failed(item.id, item.attempts, delivery_error(error))
                continue
            except Exception as error:
                log.exception("staff notification %s crashed", unit[0].id)
                held.add(unit[0].ticket_id)
                for item in unit:
                    await self._failed(item.id, item.attempts, DeliveryError(repr(error)))
                continue
            now = datetime.now(UTC)
            for item in unit:
                await self.db.mark_sent(item.id, None, now)
            delivered += len(unit)

    # --- one notification ---------------------------------------------------------------------------

    async def deliver(self, item: OutboxItem) -> None:
        if item.ticket_id is None:
            return
        if item.kind == "ticket_created":
            await self.thread(item.ticket_id)
        elif item.kind == "customer_message":
            await self._mirror(item.ticket_id, _int(item.payload.get("message_id")))
        elif item.kind == "customer_edited":
            text = str(item.payload.get("text") or "")
            await self.post(item.ticket_id, f"✏️ The customer edited a message, it now reads:\n{text}")
        elif item.kind == FORGET_NOTIFICATION:
            await self._forget(item.ticket_id, item.payload)
        elif item.kind == "ticket_updated":
            text = str(item.payload.get("text") or "")
            if item.payload.get("source") == ECHOLESS_SOURCE and item.payload.get("action") in (
                "reply",
                "note",
            ):
                text = ""  # written in the topic itself: already there
            await self._status(item.ticket_id, text)
        else:
            log.warning("unknown staff notification kind %r (outbox %s); skipped", item.kind, item.id)

    async def thread(self, ticket_id: int) -> int:
        """The ticket's topic, created (with its card) if it has none yet."""
        existing = await self.db.ticket_thread(ticket_id, STAFF_CHANNEL)
        if existing is not None:
            return int(existing)
        return await self._open_topic(ticket_id)

    async def _open_topic(self, ticket_id: int) -> int:
        ticket = await self.db.ticket(ticket_id)
        assert ticket is not None, f"no ticket #{ticket_id}"
        customer = await self.db.customer(ticket.customer_id)
        assert customer is not None
        topic = await self.bot.create_forum_topic(chat_id=self.chat_id, name=topic_name(ticket, customer))
        thread_id = topic.message_thread_id
        await self.db.set_ticket_thread(ticket_id, STAFF_CHANNEL, thread_id)
        messages = await self.db.ticket_messages(ticket_id)
        card = card_html(ticket, customer, messages, await self._earlier(ticket))
        sent_card = await self.bot.send_message(
            chat_id=self.chat_id,
            message_thread_id=thread_id,
            text=card,
            parse_mode=ParseMode.HTML,
            reply_markup=card_buttons(ticket_id),
        )
        await self._posted(ticket_id, sent_card.message_id, "card")
        for message in messages:
            if message.ticket_id == ticket_id and message.attachment:
                await self._copy_original(customer, message, thread_id)
        return thread_id

    async def _copy_original(self, customer: Customer, message: StoredMessage, thread_id: int) -> None:
        """Put a copy of the customer's photo, voice message or file into the topic, if Telegram still has it.

        Best effort: the text line about it is already there, and a deleted original must not block the row.
        """
        if customer.channel != CHANNEL_NAME or not message.channel_message_id:
            return
        try:
            copied = await self.bot.copy_message(
                chat_id=self.chat_id,
                from_chat_id=int(customer.external_id),
                message_id=int(message.channel_message_id),
                message_thread_id=thread_id,
            )
            if message.ticket_id is not None:
                await self._posted(message.ticket_id, copied.message_id, "copy")
        except BadRequest as error:
            log.info("could not copy message %s into the staff topic: %s", message.id, error)

    async def _earlier(self, ticket: Ticket) -> list[Ticket]:
        async with self.db.snapshot() as tx:
            tickets = await tx.customer_tickets(ticket.customer_id)
        return [t for t in reversed(tickets) if t.id < ticket.id]

    async def post(self, ticket_id: int, text: str, *, reply_to: int | None = None) -> Message:
        """Plain text into the ticket's topic (split if long); a deleted topic is recreated once."""
        for attempt in (1, 2):
            thread_id = await self.thread(ticket_id)
            answers = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            try:
                sent: Message | None = None
                for part in split_text(text):
                    sent = await self.bot.send_message(
                        chat_id=self.chat_id, message_thread_id=thread_id, text=part, reply_parameters=answers
                    )
                    await self._posted(ticket_id, sent.message_id, "post")
                    answers = None
                assert sent is not None
                return sent
            except TelegramError as error:
                if attempt == 2 or not topic_lost(error):
                    raise
                log.info("topic %s of ticket %s was deleted; recreating it", thread_id, ticket_id)
                await self._open_topic(ticket_id)
        raise AssertionError("unreachable")

    async def _mirror(self, ticket_id: int, message_id: int | None) -> None:
        message = await self.db.message(message_id) if message_id is not None else None
        if message is None:
            return
        customer = await self.db.customer(message.customer_id)
        assert customer is not None
        name = customer.display_name or "Customer"
        if message.attachment:
            text = f"📎 {name} sent a {message.attachment}" + (f":\n{message.text}" if message.text else "")
        else:
            text = f"💬 {name}:\n{message.text}"
        reply_to = None
        if message.channel_message_id is not None:
            reply_to = self.threads.topic_target.pop((customer.external_id, message.channel_message_id))
        sent = await self.post(ticket_id, text, reply_to=reply_to)
        await self.db.link_messages(message.id, STAFF_CHANNEL, self.chat_id, sent.message_id)
        if message.attachment and sent.message_thread_id is not None:
            await self._copy_original(customer, message, sent.message_thread_id)

    async def _mirror_batch(self, items: Sequence[OutboxItem]) -> None:
        """Several piled-up customer messages of one ticket as one message: a line (or a few) each."""
        ticket_id = items[0].ticket_id
        assert ticket_id is not None
        messages = [
            found
            for item in items
            if (number := _int(item.payload.get("message_id"))) is not None
            and (found := await self.db.message(number)) is not None
        ]
        if not messages:
            return
        customer = await self.db.customer(messages[0].customer_id)
        assert customer is not None
        name = customer.display_name or "Customer"
        lines = [f"💬 {name} ({len(messages)} messages):"]
        reply_to = None
        for message in messages:
            kind = f"📎 {message.attachment}" + (": " if message.text else "") if message.attachment else ""
            lines.append(f"• {kind}{message.text}")
            if message.channel_message_id is not None:
                target = self.threads.topic_target.pop((customer.external_id, message.channel_message_id))
                reply_to = reply_to or target
        sent = await self.post(ticket_id, "\n".join(lines), reply_to=reply_to)
        for message in messages:
            await self.db.link_messages(message.id, STAFF_CHANNEL, self.chat_id, sent.message_id)
            if message.attachment and sent.message_thread_id is not None:
                await self._copy_original(customer, message, sent.message_thread_id)

    async def _status(self, ticket_id: int, text: str) -> None:
        """Rename the topic to show the new status, and say what happened in it."""
        ticket = await self.db.ticket(ticket_id)
        if ticket is None:
            return
        customer = await self.db.customer(ticket.customer_id)
        assert customer is not None
        thread_id = await self.thread(ticket_id)
        try:
            await self.bot.edit_forum_topic(
                chat_id=self.chat_id, message_thread_id=thread_id, name=topic_name(ticket, customer)
            )
        except TelegramError as error:
            if topic_lost(error):
                await self._open_topic(ticket_id)
            elif not unchanged(error):
                raise
        if text:
            await self.post(ticket_id, text)

    # --- forgetting a customer (``python -m bot customer forget``) -----------------------------------

    async def _posted(self, ticket_id: int, message_id: int, kind: str) -> None:
        """Remember a message the bot posted about the ticket, so forgetting the customer can delete it."""
        await self.db.record_staff_post(
            ticket_id, STAFF_CHANNEL, self.chat_id, message_id, kind, datetime.now(UTC)
        )

    async def _forget(self, ticket_id: int, payload: Mapping[str, object]) -> None:
        """Rename the topic to ``#12 (forgotten)``, delete the bot's posts and the messages linked to the
        customer's, say in the topic what Telegram would not let it delete, and close the topic.

        Safe to repeat (a retry after a 429 or a crash): messages already gone count as deleted.
        """
        thread = _int(payload.get("thread_id"))
        pairs = payload.get("messages")
        targets = [
            int(message)
            for chat, message in (pairs if isinstance(pairs, list) else [])
            if str(chat) == str(self.chat_id) and str(message).isdigit()
        ]
        kept: list[int] = []
        for message_id in targets:
            try:
                await self.bot.delete_message(chat_id=self.chat_id, message_id=message_id)
            except BadRequest as error:
                if "not found" not in error.message.lower():
                    kept.append(message_id)
        deleted = len(targets) - len(kept)
        log.info(
            "ticket %s forgotten in the staff group: %d message(s) deleted, %d left",
            ticket_id,
            deleted,
            len(kept),
        )
        if thread is None:
            return
        name = truncate(f"#{ticket_id} (forgotten)", MAX_TOPIC_NAME)
        try:
            await self.bot.edit_forum_topic(chat_id=self.chat_id, message_thread_id=thread, name=name)
        except TelegramError as error:
            if topic_lost(error):
                return  # the topic itself is gone: nothing left to rename, report in or close
            if not unchanged(error):
                raise
        report = f"🗑 The customer of ticket #{ticket_id} was forgotten: {deleted} message(s) deleted here."
        if kept:
            links = "\n".join(_link(self.chat_id, thread, message_id) for message_id in kept)
            report += (
                f"\nTelegram did not let the bot delete {len(kept)} (bots may delete messages only for 48 hours)."
                f" Please delete them by hand:\n{links}"
            )
            log.warning(
                "ticket %s forgotten: %d staff-group message(s) need deleting by hand", ticket_id, len(kept)
            )
        await self.bot.send_message(chat_id=self.chat_id, message_thread_id=thread, text=report)
        try:
            await self.bot.close_forum_topic(chat_id=self.chat_id, message_thread_id=thread)
        except TelegramError as error:
            if not (topic_lost(error) or unchanged(error)):
                raise


def _link(chat_id: int, thread_id: int, message_id: int) -> str:
    """A message link staff can open: ``https://t.me/c/<chat without -100>/<topic>/<message>``."""
    chat = str(chat_id).removeprefix("-100").lstrip("-")
    return f"https://t.me/c/{chat}/{thread_id}/{message_id}"


def next_unit(due: Sequence[OutboxItem]) -> list[OutboxItem]:
    """What to send next: the first due row, joined by the same ticket's next due ``customer_message`` rows
    when it is one too (up to :data:`BATCH_MESSAGES`), so a backlog drains in a few messages, not hundreds.

    Stops at the ticket's first row of another kind, which must follow the messages before it.
    """
    first = due[0]
    unit = [first]
    if first.kind != "customer_message":
        return unit
    for item in due[1:]:
        if item.ticket_id != first.ticket_id:
            continue
        if item.kind != "customer_message" or len(unit) >= BATCH_MESSAGES:
            break
        unit.append(item)
    return unit


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None
