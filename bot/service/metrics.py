"""The process's Prometheus metrics: what happened here (counters) and how the shared queue looks (gauges).

One :class:`Metrics` per process, with a registry of its own rather than prometheus-client's global one:
two services built in one test process (or one test after another) must not add to each other's counts.
The process's :class:`~bot.service.engine.ConversationService` holds it (``conversation.metrics``); the
outbox senders and the Telegram channel of that process are given the same object.

Counters are incremented at the one place each event happens (a message stored, a reply accepted by the
channel, a 429 from Telegram, a row resent after a crash) and count *this replica's* events: Prometheus
sums them over replicas. The gauges describe the shared database (outbox depth and age, open tickets), so
every replica reports the same values: aggregate them with ``max``, not ``sum`` (docs/scaling.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from bot.core.model import Priority
from bot.service.clock import Clock, utcnow
from bot.storage import Database
from bot.storage.gauges import ACTIVE_TICKET_STATUSES, queue_figures

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of :meth:`Metrics.exposition`: Prometheus' classic text format, which every
Prometheus (and the Grafana agent, VictoriaMetrics, …) reads; prometheus-client's ``CONTENT_TYPE_LATEST``
moved to a version older servers do not know."""

TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds. A turn on SQLite takes a few milliseconds; over a second means the database or the matcher is
struggling (docs/benchmarks.md has the measured distribution)."""


class Metrics:
    """Counters, the turn latency histogram and the database gauges of one process."""

    def __init__(self, *, clock: Clock = utcnow) -> None:
        self.registry = CollectorRegistry()
        self._clock = clock
        registry = self.registry
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.messages_in = Counter(
            "carebot_messages_in",
            "Customer messages stored (new ones; redeliveries are counted as duplicates)",
            ["channel"],
            registry=registry,
        )
        self.duplicates_in = Counter(
            "carebot_messages_in_duplicates",
            "Customer messages received again and recognised as already stored (not answered twice)",
            ["channel"],
            registry=registry,
        )
        self.messages_out = Counter(
            "carebot_messages_out",
            "Outbox rows the channel accepted (replies of the bot and of agents)",
            ["channel"],
            registry=registry,
        )
        self.turn_seconds = Histogram(
            "carebot_turn_seconds",
            "From receiving a customer message to its replies being queued (store, analyse, decide, commit)",
            ["channel"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.telegram_429 = Counter(
            "carebot_telegram_429",
            "429 Too Many Requests answers from the Bot API (also those the rate limiter waited out)",
            ["scope"],
            registry=registry,
        )
        self.resends = Counter(
            "carebot_outbox_resends",
            "Outbox rows found half-sent after a crash and sent once more (they may have arrived twice)",
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "carebot_outbox_pending",
            "Outbox rows waiting to be delivered (shared database: the same on every replica)",
            ["channel"],
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "carebot_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox row; 0 when none waits",
            ["channel"],
            registry=registry,
        )
        self.database_up = Gauge(
            "carebot_database_up",
            "1 when this scrape could read the database-backed figures, 0 when it could not",
            registry=registry,
        )
        self.tickets_open = Gauge(
            "carebot_tickets_open",
            "Tickets not yet resolved, by priority and status ('open': in the queue, nobody has claimed it)",
            ["priority", "status"],
            registry=registry,
        )

    # --- events, one call at the one place each happens ----------------------------------------------------

    def received(self, channel: str, *, duplicate: bool = False) -> None:
        (self.duplicates_in if duplicate else self.messages_in).labels(channel).inc()

    @contextmanager
    def turn(self, channel: str, *, since: float) -> Iterator[None]:
        """Observe the turn's duration when the block ends (``since`` is a :func:`time.perf_counter`
        reading taken when the message arrived), also when it raised."""
        try:
            yield
        finally:
            self.turn_seconds.labels(channel).observe(time.perf_counter() - since)

    def sent(self, channel: str) -> None:
        self.messages_out.labels(channel).inc()

    def flood(self, scope: str) -> None:
        """Telegram answered 429; ``scope`` is ``private`` or ``group`` (their limits differ)."""
        self.telegram_429.labels(scope).inc()

    def resent(self, rows: int) -> None:
        if rows:
            self.resends.inc(rows)

    # --- the scrape ----------------------------------------------------------------------------------------

    async def refresh(self, db: Database) -> None:
        """Read the database-backed gauges now (a scrape does this first; one short read transaction)."""
        now = self._clock()
        figures = await queue_figures(db)
        self.outbox_pending.clear()
        self.outbox_oldest_age.clear()
        for row in figures.outbox:
            self.outbox_pending.labels(row.channel).set(row.pending)
            age = 0.0 if row.oldest_pending is None else (now - row.oldest_pending).total_seconds()
            self.outbox_oldest_age.labels(row.channel).set(max(0.0, age))
        # Every combination is reported, zeros included: an alert on "urgent tickets waiting" needs a
        # series that exists before the first urgent ticket does.
        for priority in Priority:
            for status in ACTIVE_TICKET_STATUSES:
                count = figures.tickets.get((priority.value, status), 0)
                self.tickets_open.labels(priority.value, status).set(count)

    async def exposition(self, db: Database) -> bytes:
        """The text a Prometheus scrape receives, with the gauges just read.

        When the database cannot be read the counters are still served (they are this process's, and
        what happened before the failure matters most), the database gauges are dropped rather than left
        stale, and ``carebot_database_up`` says 0.
        """
        try:
            await self.refresh(db)
        except Exception:
            log.debug("metrics: the database-backed figures could not be read", exc_info=True)
            for gauge in (self.outbox_pending, self.outbox_oldest_age, self.tickets_open):
                gauge.clear()
            self.database_up.set(0)
        else:
            self.database_up.set(1)
        return generate_latest(self.registry)
