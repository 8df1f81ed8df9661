"""Customers' side: private chats with the bot turned into :class:`Inbound` for the conversation engine.

Handlers only store and decide (through the engine) and never wait for Telegram to deliver a reply: the
engine queues replies in the outbox and wakes the sender, so one slow chat cannot hold up the others.
Messages from groups other than the staff group match no handler here and are ignored; buttons (callback
queries carry no chat filter of their own) are checked to come from a private chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels.base import Button, Inbound, encodable
from bot.channels.telegram.app import TelegramApp, in_background
from bot.channels.telegram.channel import CHANNEL_NAME, TelegramChannel
from bot.channels.telegram.text import keyboard
from bot.channels.telegram.topics import STAFF_CHANNEL
from bot.core.model import Lang
from bot.core.policy import HUMAN
from bot.service.engine import ConversationService
from bot.storage import Database

log = logging.getLogger(__name__)

LANGUAGE_PREFIX = "lang:"
"""Callback data of the /language buttons; handled here, not by the engine (it is channel UI)."""

LANGUAGE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "tr": "Türkçe",
    "uk": "Українська",
    "ru": "Русский",
}

_ATTACHMENTS = (
    ("photo", "photo"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("sticker", "sticker"),
    ("document", "document"),
    ("location", "location"),
    ("venue", "location"),
    ("contact", "contact"),
)

PRIVATE = filters.ChatType.PRIVATE
NEW = filters.UpdateType.MESSAGE
MEDIA = filters.ATTACHMENT | filters.LOCATION | filters.CONTACT


def language_hint(code: str | None) -> Lang | None:
    """Telegram's IETF tag (``de``, ``pt-br``) reduced to the ISO 639-1 code the content uses."""
    return code.split("-")[0].lower() if code else None


def attachment_kind(message: Message) -> str:
    for attribute, kind in _ATTACHMENTS:
        if getattr(message, attribute, None):
            return kind
    return "other"


def inbound(update: Update, *, text: str | None = None, payload: str | None = None) -> Inbound:
    """The customer and message of ``update`` as the engine sees them.

    Only ``update.message`` counts as the customer's message: a button press carries the *bot's* message,
    whose id must not become the customer's dedup key.
    """
    chat, user, message = update.effective_chat, update.effective_user, update.message
    assert chat is not None
    written = (message.text or message.caption or "") if message else ""
    return Inbound(
        channel=CHANNEL_NAME,
        user_id=str(chat.id),
        display_name=user.full_name if user else "",
        language_hint=language_hint(user.language_code if user else None),
        text=written if text is None else text,
        payload=payload,
        message_id=str(message.message_id) if message else None,
        received_at=message.date if message else datetime.now(UTC),
    )


class CustomerHandlers:
    """One handler per concern; all bound to the same services."""

    def __init__(
        self,
        conversation: ConversationService,
        db: Database,
        channel: TelegramChannel,
        wake_staff: Callable[[], None],
    ) -> None:
        self.conversation = conversation
        self.db = db
        self.channel = channel
        self._wake_staff = wake_staff

    def register(self, app: TelegramApp) -> None:
        app.add_handler(CommandHandler("start", self.on_start, filters=PRIVATE))
        app.add_handler(CommandHandler("language", self.on_language, filters=PRIVATE))
        app.add_handler(CommandHandler("human", self.on_human, filters=PRIVATE))
        app.add_handler(CallbackQueryHandler(self.on_language_button, pattern=f"^{LANGUAGE_PREFIX}"))
        app.add_handler(MessageHandler(PRIVATE & NEW & filters.TEXT, self.on_text))
        app.add_handler(MessageHandler(PRIVATE & NEW & MEDIA, self.on_media))
        app.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED_MESSAGE, self.on_edit))

    def register_buttons(self, app: TelegramApp) -> None:
        """Customer buttons: registered after the staff ones, which claim their own prefix first."""
        app.add_handler(CallbackQueryHandler(self.on_button))

    def _typing(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Fire and forget: the typing indicator must never delay the answer it announces.
        if update.effective_chat is not None:
            in_background(context, self.channel.typing(update.effective_chat.id), "typing")

    async def _handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE, message: Inbound) -> None:
        self._typing(update, context)
        answered = update.message.reply_to_message if update.message else None
        if answered is not None and message.message_id is not None:
            # Answering a staff reply: its mirror in the topic should answer the staff member's message.
            topic_message = self.channel.threads.topic_of_private.get((message.user_id, answered.message_id))
            if topic_message is None:
                # Not delivered by this process (a restart since): storage knows the pair too.
                linked = await self.db.linked_copy_of_delivered(
                    CHANNEL_NAME, message.user_id, answered.message_id, STAFF_CHANNEL
                )
                topic_message = int(linked) if linked is not None else None
            if topic_message is not None:
                self.channel.threads.topic_target.put((message.user_id, message.message_id), topic_message)
        report = await self.conversation.handle(message)
        if message.message_id is not None and not report.duplicate:
            # Remember which stored message this Telegram message is, so a later edit can be mirrored.
            await self.db.link_messages(report.message_id, CHANNEL_NAME, message.user_id, message.message_id)

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/start``: the honest greeting, in the language Telegram reports for the customer."""
        await self.conversation.greet(inbound(update))

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/language de`` switches at once; ``/language`` alone offers the folder's languages."""
        wanted = language_hint(context.args[0]) if context.args else None
        if wanted and await self.conversation.set_language(inbound(update), wanted):
            return
        chat = update.effective_chat
        assert chat is not None
        languages = self.conversation.brain.content.settings.languages
        buttons = [
            Button(f"{LANGUAGE_NAMES.get(code, code)} ({code})", LANGUAGE_PREFIX + code) for code in languages
        ]
        menu = context.bot.send_message(chat_id=chat.id, text="🌐", reply_markup=keyboard(buttons))
        in_background(context, menu, "the /language menu")

    async def on_language_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        in_background(context, query.answer(), "answering a button press")
        if not _private(update):
            return  # a customer is a private chat; a group (the staff group too) is never one
        await self.conversation.set_language(inbound(update), query.data.removeprefix(LANGUAGE_PREFIX))

    async def on_human(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/human``: same as the "talk to a human" button."""
        await self._handle(update, context, replace(inbound(update, text="/human"), payload=HUMAN))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any text, including unknown commands: the engine decides what it means."""
        await self._handle(update, context, inbound(update))

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, voice, stickers, files: stored with their kind and caption, and sent to a human."""
        message = update.effective_message
        assert message is not None
        await self._handle(update, context, replace(inbound(update), attachment=attachment_kind(message)))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button under one of the bot's messages: its payload goes to the engine."""
        query = update.callback_query
        assert query is not None
        in_background(context, query.answer(), "answering a button press")
        if not _private(update) or not query.data:
            return
        label = _label(query.message, query.data) if isinstance(query.message, Message) else ""
        # A digest (payload longer than 64 bytes) cannot be mapped back: the label is then read as text.
        payload = None if query.data.startswith("h:") else query.data
        await self._handle(update, context, inbound(update, text=label, payload=payload))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A customer edited a message: staff see the new wording in the ticket's topic."""
        message = update.edited_message
        if message is None:
            return
        stored = await self.db.message_by_external(CHANNEL_NAME, message.chat.id, message.message_id)
        if stored is None or stored.ticket_id is None:
            return  # the bot already answered the original; edits to closed conversations need no one
        text = encodable(message.text or message.caption or "")  # as Inbound does for new messages
        await self.db.enqueue_staff(
            "customer_edited", stored.ticket_id, {"message_id": stored.id, "text": text}, datetime.now(UTC)
        )
        self._wake_staff()


def _private(update: Update) -> bool:
    """Customer actions come only from private chats: the one rule for every customer handler."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _label(message: Message, data: str) -> str:
    markup = message.reply_markup
    if markup is None:
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""
