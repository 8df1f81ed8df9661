"""Delivers the outbox: every reply the bot or an agent queued, to the customer's channel.

At-least-once by design: a row is marked sent only after the channel accepted it, so a crash in between
re-sends it on the next start (channels pass the outbox id as a dedup key where the platform allows).
Retries back off exponentially unless the platform said exactly when to come back (HTTP 429).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.channels.base import Channel, DeliveryError, Outbound
from bot.core.model import Author
from bot.service.clock import Clock, utcnow
from bot.storage import Database

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
MAX_ATTEMPTS = 20
"""After this many failed attempts a message is parked as failed (visible to staff) instead of retried."""


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


class OutboxSender:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Clock = utcnow,
        recipients: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``recipients`` limits a channel to some customers: a terminal chat serves exactly one, and
        must never show (or mark as sent) replies meant for a customer in another terminal."""
        self.db = db
        self.channels = dict(channels)
        self._recipients = dict(recipients or {})
        self._clock = clock
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()

    def wake(self) -> None:
        """Deliver now rather than on the next tick (called right after a turn queued replies)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver every due row once; returns how many were delivered.

        Rounds never overlap: the background loop and an explicit call would otherwise both pick up the
        same due rows and send every reply twice.
        """
        async with self._round:
            return await self._deliver_due()

    async def _deliver_due(self) -> int:
        delivered = 0
        for name, channel in self.channels.items():
            held: set[str] = set()
            only = self._recipients.get(name)
            # Filtered channels skip other customers' rows, so look further ahead to find their own.
            batch = 1000 if only is not None else 50
            for item in await self.db.due_outbox(name, now=self._clock(), limit=batch):
                if only is not None and item.recipient not in only:
                    continue
                if item.recipient in held:
                    continue  # keep a customer's replies in order behind a failed one
                try:
                    external_id = await channel.send(
                        item.recipient,
                        Outbound(item.text, tuple(item.buttons), from_human=item.author is Author.AGENT),
                    )
                except DeliveryError as error:
                    held.add(item.recipient)
                    await self._failed(item.id, item.attempts, error)
                    continue
                except Exception as error:  # a channel bug must not stop delivery to everyone else
                    log.exception("channel %s crashed sending outbox row %s", name, item.id)
                    held.add(item.recipient)
                    await self._failed(item.id, item.attempts, DeliveryError(repr(error)))
                    continue
                await self.db.mark_sent(item.id, external_id, self._clock())
                delivered += 1
        return delivered

    async def _failed(self, outbox_id: int, attempts: int, error: DeliveryError) -> None:
        now = self._clock()
        retry_at: datetime | None
        if error.permanent or attempts + 1 >= MAX_ATTEMPTS:
            retry_at = None
        elif error.retry_after is not None:
            retry_at = now + timedelta(seconds=error.retry_after)
        else:
            retry_at = now + backoff(attempts)
        log.warning(
            "outbox row %s not delivered (%s); %s",
            outbox_id,
            error,
            f"retry at {retry_at}" if retry_at else "giving up",
        )
        await self.db.mark_failed(outbox_id, str(error), retry_at=retry_at, now=now)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set; wakes early when :meth:`wake` is called."""
        while not stop.is_set():
            # Clear before the round: a wake() arriving during it must trigger another round at once.
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox delivery round failed; retrying")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
