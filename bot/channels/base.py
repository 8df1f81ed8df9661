"""The one interface every channel implements, in both directions.

A channel turns its platform's updates into :class:`Inbound` and delivers :class:`Outbound`. It knows
nothing about intents, tickets or SQL: the service layer decides, storage remembers, the channel carries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from bot.messages import REPLACEMENT, Button, Inbound, Outbound, encodable

__all__ = [
    "ON_THE_WIRE",
    "REPLACEMENT",
    "Button",
    "Channel",
    "DeliveryError",
    "Inbound",
    "Outbound",
    "Withdrawn",
    "encodable",
]


@runtime_checkable
class Channel(Protocol):
    """Delivery side of a channel."""

    name: str

    async def send(self, user_id: str, message: Outbound) -> str | None:
        """Deliver ``message``; return the channel's message id if it has one.

        Raise :class:`DeliveryError` (or a subclass) when delivery failed; the outbox retries.
        """
        ...


class DeliveryError(Exception):
    """Delivery failed. ``retry_after`` (seconds) is set when the platform told us when to retry."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


ON_THE_WIRE: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("on_the_wire", default=None)
"""Set by the outbox sender around :meth:`Channel.send`: awaited right before the platform request leaves.

A channel that waits before its request (Telegram's rate limiter may queue it for seconds) calls it at the
last moment, so the outbox marks a row *being sent* only when it really is on the wire: a crash while it
merely waited in a queue then neither counts as a resend nor risks a duplicate. Such a channel says so
with a true ``marks_on_the_wire`` attribute; for every other channel the sender calls it just before
``send``. It may raise :class:`Withdrawn`: the row is no longer to be sent."""


class Withdrawn(Exception):
    """Raised by the :data:`ON_THE_WIRE` hook: the row was taken back (no longer pending); do not send it."""
