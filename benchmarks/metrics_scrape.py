"""What a ``/metrics`` scrape costs the database, with years of history in it.

A SQLite file is migrated by the product (``Database.open``), then bulk-loaded with plain ``sqlite3`` (the
storage API commits row by row and would take minutes): ``--delivered`` sent outbox rows and ``--resolved``
resolved tickets (the history that only grows), plus ``--pending`` waiting outbox rows and ``--open`` open
tickets (what the gauges report). Every row satisfies the schema's checks and foreign keys.

Timed, median of ``--runs``: ``bot.storage.gauges.queue_figures`` (the two aggregate queries in one read
transaction, as a scrape runs them) and ``Metrics.exposition`` (the whole response body). Baseline, same
file and process: the first version's queries (``status IN ('pending', 'failed')`` and
``status <> 'resolved'``), which scan both tables.

    python -m benchmarks.metrics_scrape --delivered 300000 --resolved 200000 --pending 50 --open 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.model import Priority
from bot.service.metrics import Metrics
from bot.storage import Database
from bot.storage.gauges import queue_figures
from bot.storage.records import to_db_time

START = datetime(2026, 1, 1, tzinfo=UTC)
BASELINE = (
    ("SELECT channel, status, count(*) AS n, min(created_at) AS oldest FROM outbox"
     " WHERE status IN (?, ?) GROUP BY channel, status", ("pending", "failed")),
    ("SELECT priority, status, count(*) AS n FROM tickets WHERE status <> ? GROUP BY priority, status",
     ("resolved",)),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Result:
    delivered: int
    resolved: int
    pending: int
    open: int
    figures_ms: float
    exposition_ms: float
    baseline_ms: float


def fill(path: Path, *, delivered: int, resolved: int, pending: int, open_tickets: int) -> None:
    con = sqlite3.connect(path)
    stamp = to_db_time(START)
    # One customer holds the resolved history; each open ticket has a customer of its own (the schema allows
    # one active ticket per customer).
    con.executemany(
        "INSERT INTO customers (id, channel, external_id, created_at) VALUES (?, 'web', ?, ?)",
        [(n, f"v{n}", stamp) for n in range(1, open_tickets + 2)],
    )
    outbox = []
    for n in range(delivered + pending):
        at = to_db_time(START + timedelta(seconds=n))
        sent = n < delivered
        outbox.append(("web", "ticket_created", "sent" if sent else "pending", at, at, at if sent else None))
    con.executemany(
        "INSERT INTO outbox (channel, kind, status, next_attempt_at, created_at, sent_at) VALUES (?,?,?,?,?,?)",
        outbox,
    )
    priorities = [priority.value for priority in Priority]
    tickets = [
        (
            1 if n < resolved else 2 + n - resolved,
            "resolved" if n < resolved else "open",
            priorities[n % len(priorities)],
            *([stamp] * 5),
            stamp if n < resolved else None,
            "resolved" if n < resolved else None,
        )
        for n in range(resolved + open_tickets)
    ]
    con.executemany(
        "INSERT INTO tickets (customer_id, status, priority, reason, created_at, waiting_since,"
        " first_response_due, resolution_due, updated_at, resolved_at, resolution)"
        " VALUES (?, ?, ?, 'unmatched', ?, ?, ?, ?, ?, ?, ?)",
        tickets,
    )
    con.commit()
    con.close()


async def _median_ms(call: Callable[[], Awaitable[object]], runs: int) -> float:
    await call()  # warm the page cache and the statement cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def run(*, delivered: int, resolved: int, pending: int, open_tickets: int, runs: int) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bot.db"
        async with await Database.open(path):
            pass  # migrated by the product
        fill(path, delivered=delivered, resolved=resolved, pending=pending, open_tickets=open_tickets)
        async with await Database.open(path) as db:
            metrics = Metrics()

            async def baseline() -> None:
                async with db.snapshot() as tx:
                    for sql, params in BASELINE:
                        await tx.fetch_all(sql, params)

            figures_ms = await _median_ms(lambda: queue_figures(db), runs)
            exposition_ms = await _median_ms(lambda: metrics.exposition(db), runs)
            baseline_ms = await _median_ms(baseline, runs)
            figures = await queue_figures(db)
            assert sum(row.pending for row in figures.outbox) == pending
            assert sum(figures.tickets.values()) == open_tickets
    return Result(delivered, resolved, pending, open_tickets, figures_ms, exposition_ms, baseline_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delivered", type=int, default=300_000)
    parser.add_argument("--resolved", type=int, default=200_000)
    parser.add_argument("--pending", type=int, default=50)
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(
        run(
            delivered=args.delivered,
            resolved=args.resolved,
            pending=args.pending,
            open_tickets=args.open,
            runs=args.runs,
        )
    )
    print(f"{result.delivered:,} delivered outbox rows, {result.resolved:,} resolved tickets,")
    print(f"{result.pending} pending rows, {result.open} open tickets; median of {args.runs} runs")
    print(f"  queue_figures (the scrape's database part): {result.figures_ms:8.2f} ms")
    print(f"  Metrics.exposition (the whole body):        {result.exposition_ms:8.2f} ms")
    print(f"  baseline: the scanning queries:             {result.baseline_ms:8.2f} ms")
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
