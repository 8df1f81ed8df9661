"""Which earlier message a new one answers, so that replies thread both ways between chat and topic.

The pairs themselves are stored (``message_links``: topic message <-> stored message, customer's Telegram
message <-> stored message; ``messages.channel_message_id``: stored reply <-> its copy in the private chat).
This object keeps the pairs of the current process at hand, so a reply needs no query; when it does not
know a pair (a restart since the staff reply was delivered), the customer handler asks storage
(``Database.linked_copy_of_delivered``). What stays in memory only is the short hand-over between a staff
reply being queued and delivered: a restart in that window delivers the reply unthreaded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 10_000


class Bounded(Generic[K, V]):
    """A dict that forgets its oldest entries: a long-running bot must not grow without bound."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A staff reply on its way to the customer: what it answers there, and where it was written."""

    reply_to: int | None
    """The customer's message (in the private chat) the staff member replied to, if any."""
    topic_message: int


class ReplyThreads:
    """Three short-lived maps, each keyed by what the next step will know."""

    def __init__(self) -> None:
        self.outgoing: Bounded[tuple[str, str], Outgoing] = Bounded()
        """(customer chat, exact reply text) -> the staff reply being delivered; set before it is queued."""
        self.topic_of_private: Bounded[tuple[str, int], int] = Bounded()
        """(customer chat, delivered message id) -> the staff member's message in the topic."""
        self.topic_target: Bounded[tuple[str, str], int] = Bounded()
        """(customer chat, customer's message id) -> the topic message its mirror should reply to."""
