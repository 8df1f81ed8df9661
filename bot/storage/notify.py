"""Wake-ups across replicas: "visitor X has something new" reaches the replica that holds X's connection.

A web visitor's widget is connected to one replica; the reply may be sent by another. The channels only say
:meth:`Notifications.publish` and :meth:`Notifications.subscribe`; how it travels depends on the engine:

* **PostgreSQL**: ``SELECT pg_notify(channel, payload)``, delivered by the server to every listening session
  when the transaction commits. Each replica keeps one extra connection that only ``LISTEN``s, and reconnects
  with backoff when it drops. A notification sent while it was reconnecting is lost, so after every
  (re)connect each local subscriber is woken once with ``None`` ("something may be new"): the widget's cursor
  replay (read everything after the last number shown) then finds whatever was missed.
* **SQLite**: there is no server to carry a message between processes. A publish wakes this process's
  subscribers at once, as before; and a slow poll (:data:`SQLITE_POLL` seconds) is the safety net for other
  processes on the same file: when the highest message id moved, every subscriber is woken with ``None``.

Delivery is best effort by design: nothing is lost when a wake-up is, because every reader reads from the
database by cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.storage.coordination import replica_id

if TYPE_CHECKING:
    from bot.storage.database import Database

log = logging.getLogger(__name__)

Handler = Callable[[str | None], None]
"""Called with the published payload, or ``None`` when anything may have changed (wake everyone)."""

SQLITE_POLL = 2.0
"""Seconds between two looks at the highest message id on SQLite (other processes' replies)."""

RECONNECT_MIN = 0.5
RECONNECT_MAX = 30.0
SEPARATOR = "\x1f"


def pg_channel(topic: str) -> str:
    return f"carebot_{topic}"


class Notifications:
    """Publish/subscribe by topic across every replica on one database (see the module docstring)."""

    def __init__(self, db: Database, *, owner: str | None = None, poll: float = SQLITE_POLL) -> None:
        self.db = db
        self.owner = owner or replica_id()
        self.poll = poll
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        """Set while the PostgreSQL listener is connected (and at once on SQLite)."""
        self.received = 0
        """Notifications from other replicas handled so far."""

    @property
    def engine(self) -> str:
        return self.db.engine

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler`` for ``topic``'s wake-ups. Subscribe before :meth:`run` starts: the PostgreSQL
        listener ``LISTEN``s to the topics it knows when it connects."""
        self._handlers.setdefault(topic, []).append(handler)

    def _deliver(self, topic: str, payload: str | None) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler(payload)
            except Exception:
                log.exception("a %s wake-up handler failed", topic)

    def _wake_all(self) -> None:
        for topic in list(self._handlers):
            self._deliver(topic, None)

    async def publish(self, topic: str, payload: str) -> None:
        """Wake ``topic``'s subscribers here at once, and on every other replica (PostgreSQL: at commit)."""
        self._deliver(topic, payload)
        if self.engine != "postgresql":
            return
        async with self.db.transaction() as tx:
            await tx.fetch_one(
                "SELECT pg_notify(?, ?)", (pg_channel(topic), f"{self.owner}{SEPARATOR}{payload}")
            )

    def publish_soon(self, topic: str, payload: str) -> None:
        """:meth:`publish` from synchronous code: local subscribers now, the others in the background."""
        if self.engine != "postgresql":
            self._deliver(topic, payload)
            return
        task = asyncio.get_running_loop().create_task(self._publish_logged(topic, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_logged(self, topic: str, payload: str) -> None:
        try:
            await self.publish(topic, payload)
        except Exception as error:
            log.warning("could not notify the other replicas (%s); they catch up by polling", error)

    async def run(self, stop: asyncio.Event) -> None:
        """Receive other replicas' notifications until ``stop`` is set."""
        if self.engine == "postgresql":
            await self._listen(stop)
        else:
            await self._poll_sqlite(stop)

    # --- SQLite: the slow poll -------------------------------------------------------------------------

    async def _poll_sqlite(self, stop: asyncio.Event) -> None:
        self.connected.set()
        last: int | None = None
        while not stop.is_set():
            try:
                async with self.db.snapshot() as tx:
                    row = await tx.fetch_one("SELECT coalesce(max(id), 0) AS id FROM messages")
                current = int(row["id"]) if row is not None else 0
                if last is not None and current != last:
                    self._wake_all()
                last = current
            except Exception as error:
                log.debug("polling for other processes' messages failed: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll)

    # --- PostgreSQL: LISTEN on a connection of its own ---------------------------------------------------

    async def _listen(self, stop: asyncio.Event) -> None:
        import psycopg

        pause = RECONNECT_MIN
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(self._url(), autocommit=True)
            except Exception as error:
                log.warning(
                    "cannot listen for other replicas' wake-ups (%s); retrying in %.1f s", error, pause
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(RECONNECT_MAX, pause * 2)
                continue
            try:
                async with conn:
                    for topic in self._handlers:
                        await conn.execute(f'LISTEN "{pg_channel(topic)}"')
                    self.connected.set()
                    pause = RECONNECT_MIN
                    self._wake_all()  # anything notified while we were not listening: read again
                    await self._receive(conn, stop)
            except Exception as error:
                log.warning("the wake-up listener lost its connection (%s); reconnecting", error)
            finally:
                self.connected.clear()

    async def _receive(self, conn: Any, stop: asyncio.Event) -> None:
        topics = {pg_channel(topic): topic for topic in self._handlers}
        notifies = conn.notifies()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                following = asyncio.ensure_future(anext(notifies))
                done, _ = await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    following.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                        await following
                    return
                notice = following.result()
                sender, _, payload = str(notice.payload).partition(SEPARATOR)
                if sender == self.owner:
                    continue  # delivered locally when published
                topic = topics.get(notice.channel)
                if topic is not None:
                    self.received += 1
                    self._deliver(topic, payload or None)
        finally:
            stopping.cancel()

    def _url(self) -> str:
        return str(self.db.location)
