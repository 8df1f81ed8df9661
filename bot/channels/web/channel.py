"""The web channel's delivery side: wakes the open connections of a visitor.

Unlike Telegram, a widget reads its conversation from the database by sequence number (see
``bot/storage/web.py``), so "delivering" a reply means telling that visitor's open connections (tabs) to read
what is new. A visitor with no open connection loses nothing: the reply waits in the database and is replayed
when the widget connects again. So :meth:`WebChannel.send` never fails, and the outbox marks the row sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from bot.channels.base import Outbound

NAME = "web"


class WebChannel:
    name = NAME

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}

    async def send(self, user_id: str, message: Outbound) -> str | None:
        del message  # already stored, numbered and read from the database by each connection
        self.notify(user_id)
        return None

    def notify(self, visitor_id: str) -> None:
        """Every open connection of ``visitor_id`` reads what is new."""
        for event in self._listeners.get(visitor_id, ()):
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
