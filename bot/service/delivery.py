"""Delivers the outbox: every reply the bot or an agent queued, to the customer's channel.

At-least-once by design: a row is marked sent only after the channel accepted it, so a crash in between
re-sends it on the next start. To bound that, a row is marked *being sent* (committed) just before the
channel call; on the next start such a row is sent once more and counted as a resend (``db status``), and
one interrupted :data:`~bot.storage.outbox.MAX_RESENDS` times is parked as failed instead of risking
more duplicates. Retries back off exponentially unless the platform said exactly when to come back (429).

Different customers are served concurrently (up to ``concurrency`` at once; the platform's own rate limits
are the channel's business: PTB's rate limiter for Telegram), each customer's rows strictly in order: one
customer's slow or failing chat never holds up another's answers.

Several replicas may send from one database: each claims customers (a lease on the customer, see
``bot/storage/coordination.py`` and docs/replicas-coordination.md) and sends only their rows. A customer is
served by one replica at a time, so their replies keep their order; a replica that dies leaves its customers
to the others when the lease lapses, and the row it was sending is sent once more and counted as a resend.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.channels.base import ON_THE_WIRE, Channel, DeliveryError, Outbound, Withdrawn
from bot.core.model import Author
from bot.service.clock import Clock, utcnow
from bot.service.metrics import Metrics
from bot.service.replicas import LEASE_SECONDS, expire_dead_local, kept
from bot.storage import Database, Interrupted, OutboxItem
from bot.storage.coordination import OUTBOX, LeaseLost, replica_id
from bot.storage.outbox import ClaimedQueue

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)
MAX_ATTEMPTS = 20
"""After this many failed attempts a message is parked as failed (visible to staff) instead of retried."""


CONCURRENCY = 30
"""Customers served at the same time: Telegram's ~30 messages a second with a ~0.1 s round trip each."""


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
        concurrency: int = CONCURRENCY,
        metrics: Metrics | None = None,
        owner: str | None = None,
        lease: float = LEASE_SECONDS,
    ) -> None:
        """``recipients`` limits a channel to some customers: a terminal chat serves exactly one, and
        must never show (or mark as sent) replies meant for a customer in another terminal.
        ``concurrency`` 1 is the old strictly serial sender (kept for the benchmark's baseline).
        ``metrics``: the process's counters (messages out, resends); a private set when not given.
        ``owner`` names this replica in the customers' leases (default: the process's replica id)."""
        self.db = db
        self.metrics = metrics or Metrics()
        self.channels = dict(channels)
        self._recipients = dict(recipients or {})
        self._clock = clock
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()
        self._concurrency = max(1, concurrency)
        self.owner = owner or replica_id()
        self.lease = lease
        self._delivered = 0
        self._recovered = False

    def wake(self) -> None:
        """Deliver now rather than on the next tick (called right after a turn queued replies)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver every due row once; returns how many were delivered.

        Rounds never overlap: the background loop and an explicit call would otherwise both pick up the
        same due rows and send every reply twice.
        """
        async with self._round:
            if not self._recovered:
                await self.recover()
                self._recovered = True
            return await self._deliver_due()

    async def recover(self) -> list[Interrupted]:
        """Rows a previous process was sending when it stopped: due again (once more), counted, logged.

        Rows of customers another live replica holds are its business; a dead replica's are taken over
        when its lease ends (:meth:`_deliver_due` counts them then).
        """
        if not self.channels:
            return []
        await expire_dead_local(self.db, self.owner)
        only = [r for name in self.channels for r in self._recipients.get(name, ())]
        found = await self.db.recover_sending(
            list(self.channels),
            self._clock(),
            recipients=only if self._recipients else None,
            owner=self.owner,
        )
        self._log_interrupted(found)
        return found

    def _log_interrupted(self, found: list[Interrupted]) -> None:
        self.metrics.resent(sum(not row.gave_up for row in found))
        for row in found:
            if row.gave_up:
                log.warning(
                    "outbox row %s was interrupted while being sent %d times; parked as failed, not sent again",
                    row.outbox_id,
                    row.resends,
                    extra={"outbox_id": row.outbox_id},
                )
            else:
                log.warning(
                    "outbox row %s was being sent when its sender stopped; sending it again (it may arrive"
                    " twice)",
                    row.outbox_id,
                    extra={"outbox_id": row.outbox_id},
                )

    async def _deliver_due(self) -> int:
        delivered = 0
        for name, channel in self.channels.items():
            delivered += await self._drain(name, channel)
        return delivered

    async def _drain(self, name: str, channel: Channel) -> int:
        """Claim customers with due rows (up to ``concurrency`` at a time, more as slots free up) and send
        each one's rows in order, until no customer with due rows is left that no other replica holds."""
        only = self._recipients.get(name)
        recipients = sorted(only) if only is not None else None
        active: dict[str, asyncio.Task[bool]] = {}
        held_back: set[str] = set()  # failed in this round: retried later, not at once
        self._delivered = 0
        async with kept(self.db, OUTBOX, self.owner, seconds=self.lease, clock=self._clock):
            try:
                while True:
                    free = self._concurrency - len(active)
                    if free > 0:
                        now = self._clock()
                        claims = await self.db.claim_outbox(
                            name,
                            self.owner,
                            now=now,
                            until=now + timedelta(seconds=self.lease),
                            customers=free,
                            exclude=sorted({*active, *held_back}),
                            recipients=recipients,
                        )
                        for claim in claims:
                            self._log_interrupted(claim.interrupted)
                            active[claim.key] = asyncio.create_task(self._serve(name, channel, claim))
                    if not active:
                        break
                    done, _ = await asyncio.wait(active.values(), return_when=asyncio.FIRST_COMPLETED)
                    for key, task in list(active.items()):
                        if task in done:
                            del active[key]
                            if not task.result():
                                held_back.add(key)
            finally:
                if active:
                    await asyncio.gather(*active.values(), return_exceptions=True)
        return self._delivered

    async def _serve(self, name: str, channel: Channel, claim: ClaimedQueue) -> bool:
        """One claimed customer: send, then give the lease back. False when a row failed (or the lease was
        lost): the customer is not claimed again in this round."""
        try:
            return await self._send_in_order(name, channel, claim.items)
        finally:
            try:
                await self.db.release_leases(OUTBOX, self.owner, [claim.key])
            except Exception:
                log.warning(
                    "could not release customer %s's outbox lease (it lapses)", claim.key, exc_info=True
                )

    async def _send_in_order(self, name: str, channel: Channel, items: list[OutboxItem]) -> bool:
        """One customer's due rows, oldest first; the first failure holds back the rest (order)."""
        for item in items:
            lost: list[bool] = []
            on_the_wire = self._marker(item.id, lost)
            token = ON_THE_WIRE.set(on_the_wire)
            try:
                if not getattr(channel, "marks_on_the_wire", False):
                    await on_the_wire()
                external_id = await channel.send(
                    item.recipient,
                    Outbound(item.text, tuple(item.buttons), from_human=item.author is Author.AGENT),
                )
            except Withdrawn:
                if lost:
                    return False  # another replica serves this customer now, from this row on
                continue  # no longer pending (the customer was forgotten, say)
            except DeliveryError as error:
                await self._failed(item.id, item.attempts, error)
                return False
            except Exception as error:  # a channel bug must not stop delivery to everyone else
                log.exception(
                    "channel %s crashed sending outbox row %s", name, item.id, extra={"outbox_id": item.id}
                )
                await self._failed(item.id, item.attempts, DeliveryError(repr(error)))
                return False
            finally:
                ON_THE_WIRE.reset(token)
            await self.db.mark_sent(item.id, external_id, self._clock())
            self.metrics.sent(name)
            self._delivered += 1
        return True

    def _marker(self, outbox_id: int, lost: list[bool]) -> Callable[[], Awaitable[None]]:
        """The :data:`ON_THE_WIRE` hook of one row: commit its *being sent* mark (renewing the customer's
        lease), once."""
        marked = False

        async def on_the_wire() -> None:
            nonlocal marked
            if marked:
                return
            now = self._clock()
            try:
                ok = await self.db.mark_sending(
                    outbox_id, now, owner=self.owner, lease_until=now + timedelta(seconds=self.lease)
                )
            except LeaseLost as error:
                lost.append(True)
                raise Withdrawn(str(error)) from None
            if not ok:
                raise Withdrawn(f"outbox row {outbox_id} is no longer pending")
            marked = True

        return on_the_wire

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
            extra={"outbox_id": outbox_id},
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
