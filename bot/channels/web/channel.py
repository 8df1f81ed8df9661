"""The web channel's delivery side: wakes the open connections of a visitor.

Unlike Telegram, a widget reads its conversation from the database by sequence number (see
``bot/storage/web.py``), so "delivering" a reply means telling that visitor's open connections (tabs) to read
what is new. A visitor with no open connection loses nothing: the reply waits in the database and is replayed
when the widget connects again. So :meth:`WebChannel.send` never fails, and the outbox marks the row sent.

With several replicas the visitor's connection may be held by another replica than the one sending: with
``notifications`` (``bot/storage/notify.py``) a wake-up goes through the database to every replica, and each
wakes the connections it holds. A wake-up without a visitor (``None``: a listener reconnected, or the SQLite
safety-net poll saw new messages) wakes every connection once; each reads from its own cursor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.channels.base import Outbound
from bot.storage.notify import Notifications

log = logging.getLogger(__name__)

NAME = "web"
TOPIC = "web"
"""The wake-up topic of web visitors (payload: the visitor id)."""


class WebChannel:
    name = NAME

    def __init__(self, notifications: Notifications | None = None) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}
        self.notifications = notifications
        if notifications is not None:
            notifications.subscribe(TOPIC, self._woken)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        del message  # already stored, numbered and read from the database by each connection
        if self.notifications is None:
            self.wake(user_id)
            return None
        try:
            await self.notifications.publish(TOPIC, user_id)  # here at once, elsewhere at commit
        except Exception as error:
            # The reply is stored either way; the other replicas' listeners lost their connection too and
            # wake every widget when they have it back, which replays it.
            log.warning("could not notify the other replicas of a web reply: %s", error)
        return None

    def notify(self, visitor_id: str) -> None:
        """Every open connection of ``visitor_id``, on every replica, reads what is new."""
        if self.notifications is None:
            self.wake(visitor_id)
        else:
            self.notifications.publish_soon(TOPIC, visitor_id)

    def wake(self, visitor_id: str) -> None:
        """This replica's open connections of ``visitor_id`` read what is new."""
        for event in self._listeners.get(visitor_id, ()):
            event.set()

    def _woken(self, visitor_id: str | None) -> None:
        if visitor_id is not None:
            self.wake(visitor_id)
            return
        for events in self._listeners.values():
            for event in events:
                event.set()

    @contextmanager
    def listen(self, visitor_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever ``visitor_id`` has something new, for as long as the block runs."""
        event = asyncio.Event()
        self._listeners.setdefault(visitor_id, set()).add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(visitor_id)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[visitor_id]

    @property
    def connections(self) -> int:
        return sum(len(events) for events in self._listeners.values())
