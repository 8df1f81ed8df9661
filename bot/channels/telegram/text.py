"""Message text for Telegram: length limits, safe HTML, inline keyboards.

Customers' and editors' words are sent as plain text (no parse mode), so a ``<`` or ``*`` in an answer can
never break delivery or turn into markup. Only staff cards use HTML, and every dynamic value in them goes
through :func:`escape`.
"""

from __future__ import annotations

import hashlib
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.base import Button

MAX_MESSAGE = 4096
"""Telegram's limit for one text message, counted in UTF-16 code units."""
MAX_CALLBACK_DATA = 64
"""Telegram's limit for ``callback_data``, in bytes."""
MAX_TOPIC_NAME = 128

_SEPARATORS = ("\n\n", "\n", ". ", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The longest prefix (in code points) whose UTF-16 length is within ``limit``."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut ``text`` into messages Telegram accepts, at paragraph, line, sentence or word breaks.

    A hard cut only happens inside a single "word" longer than the limit (a long URL, say).
    """
    parts: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        end = _fitting_prefix(rest, limit)
        cut = end
        for separator in _SEPARATORS:
            found = rest.rfind(separator, 0, end)
            if found > end // 2:
                cut = found + 1 if separator == ". " else found  # keep the full stop
                break
        head = rest[:cut].rstrip()
        if not head:
            head, cut = rest[:end], end
        parts.append(head)
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts


def escape(text: str) -> str:
    """Text for an HTML parse-mode message: Telegram needs ``<``, ``>`` and ``&`` escaped."""
    return html.escape(text, quote=False)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units, with an ellipsis when something was cut."""
    if utf16_len(text) <= limit:
        return text
    return text[: _fitting_prefix(text, limit - 1)].rstrip() + "…"


def callback_data(payload: str) -> str:
    """``payload`` if it fits Telegram's 64 bytes, else a stable digest.

    A digest cannot be mapped back, so the press is handled by the button's label instead (see
    :func:`bot.channels.telegram.customers.on_button`): the customer still gets an answer.
    """
    if len(payload.encode()) <= MAX_CALLBACK_DATA:
        return payload
    return "h:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def keyboard(buttons: tuple[Button, ...] | list[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: labels are sentences in the customer's language and may be long."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.label, callback_data=callback_data(button.payload))]
            for button in buttons
        ]
    )
