"""Delivery to customers' private chats: the Telegram side of :class:`bot.channels.base.Channel`.

The outbox calls :meth:`TelegramChannel.send`; PTB errors become :class:`DeliveryError` so the outbox can
tell "try again in 3 s" (flood control), "try again later" (network) and "never" (the customer blocked the
bot) apart without knowing anything about Telegram.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import DeliveryError, Outbound
from bot.channels.telegram.text import keyboard, split_text
from bot.channels.telegram.threads import Bounded, ReplyThreads

log = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds to wait, whichever type this PTB version reports (int now, timedelta later)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: TelegramError) -> DeliveryError:
    """Map a PTB error to what the outbox needs to know: when (or whether) to try again."""
    if isinstance(error, RetryAfter):
        return DeliveryError(str(error), retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden):
        # Blocked by the user, kicked from the chat, user deactivated: retrying cannot help.
        return DeliveryError(error.message, permanent=True)
    if isinstance(error, InvalidToken):
        # The operator's problem, not the message's: keep it queued until the token is fixed.
        return DeliveryError(error.message)
    if isinstance(error, BadRequest):
        return DeliveryError(error.message, permanent=True)
    if isinstance(error, NetworkError):  # includes TimedOut
        return DeliveryError(error.message)
    return DeliveryError(error.message)


class TelegramChannel:
    """Sends :class:`Outbound` messages to customers (plain text, never a parse mode)."""

    name = CHANNEL_NAME
    marks_on_the_wire = True
    """Requests pass :class:`~bot.channels.telegram.app.SplitRateLimiter`, which calls the outbox's
    :data:`~bot.channels.base.ON_THE_WIRE` hook after its wait (only with that limiter installed)."""

    def __init__(self, bot: Bot, threads: ReplyThreads | None = None) -> None:
        self.bot = bot
        self.threads = threads or ReplyThreads()
        self._delivered_parts: Bounded[tuple[str, str], int] = Bounded(1000)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        parts = split_text(message.text)
        if not parts:
            raise DeliveryError("empty message", permanent=True)
        markup = keyboard(message.buttons)
        outgoing = self.threads.outgoing.get((user_id, message.text))
        # A long reply that failed half-way continues where it stopped instead of repeating its start.
        first = self._delivered_parts.pop((user_id, message.text)) or 0
        sent: Message | None = None
        for index in range(first, len(parts)):
            answers = outgoing.reply_to if outgoing and index == 0 else None
            try:
                sent = await self.bot.send_message(
                    chat_id=int(user_id),
                    text=parts[index],
                    reply_markup=markup if index == len(parts) - 1 else None,
                    reply_parameters=ReplyParameters(answers, allow_sending_without_reply=True)
                    if answers
                    else None,
                )
            except TelegramError as error:
                if index > 0:
                    self._delivered_parts.put((user_id, message.text), index)
                raise delivery_error(error) from error
        if sent is None:
            return None
        if outgoing is not None:
            # A staff reply: remember its topic original, so the customer's answer to it threads there.
            self.threads.outgoing.pop((user_id, message.text))
            self.threads.topic_of_private.put((user_id, sent.message_id), outgoing.topic_message)
        return str(sent.message_id)

    async def typing(self, chat_id: int) -> None:
        """Show "typing…" while the bot works; purely cosmetic, so failures are only logged."""
        try:
            await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
        except TelegramError as error:
            log.debug("typing action for %s failed: %s", chat_id, error)
