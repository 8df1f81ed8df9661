"""The value types every layer passes around: what a customer did (:class:`Inbound`), what goes back
(:class:`Outbound`) and the buttons on it.

They live at the bottom of the package, not in ``bot/channels``, so the core, storage and the service can
all name them without importing a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown to the customer. ``payload`` comes back as :attr:`Inbound.payload` when pressed.

    Payload grammar (produced by the core, understood by the service layer): ``intent:<id>``,
    ``human``, ``none``, ``rate:<ticket_id>:<1-5>``.
    """

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """Plain text (never markup) with optional buttons; channels escape or format as they need."""

    text: str
    buttons: tuple[Button, ...] = ()
    from_human: bool = False
    """Written by a person from the team. The text already says so (``agent_reply``); a channel that labels
    its lines (the terminal's ``bot>``) must not call a human's words the bot's."""


REPLACEMENT = "\ufffd"


def encodable(text: str) -> str:
    """``text`` with every lone surrogate (``"\\ud800"``, which no UTF-8 encoder accepts) replaced by U+FFFD.

    A surrogate *pair* that arrived as two code units is joined into its character. Returns ``text``
    itself when there is nothing to fix (the common case costs one failed-free encode).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did: wrote text, sent an attachment, or pressed a button."""

    channel: str
    """Channel name as stored, e.g. ``telegram`` or ``terminal``."""
    user_id: str
    """The customer's id on that channel (Telegram: the chat id of the private chat)."""
    display_name: str = ""
    language_hint: str | None = None
    """The platform's idea of the customer's language (Telegram ``language_code``), used as a prior."""
    text: str = ""
    attachment: str | None = None
    """One of :data:`bot.core.model.ATTACHMENT_KINDS` when the message carries media."""
    payload: str | None = None
    """Set when a button was pressed; ``text`` then holds its label."""
    message_id: str | None = None
    """The channel's own message id, used to deduplicate redelivered updates."""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # The one boundary where outside text enters: everything after it (SQLite, Telegram, logs) needs
        # text that encodes as UTF-8, so unencodable pieces become U+FFFD here, once, for every channel.
        for name in ("user_id", "display_name", "text", "payload", "message_id"):
            value = getattr(self, name)
            if isinstance(value, str):
                cleaned = encodable(value)
                if cleaned is not value:
                    object.__setattr__(self, name, cleaned)
