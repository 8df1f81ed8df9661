"""Tickets created and claimed per second on one SQLite file, through the product's storage API.

What is timed (each operation is its own ``BEGIN IMMEDIATE`` transaction, committed, as in production):

* ``create``: ``Database.create_ticket`` (ticket row with SLA times + ``created`` event).
* ``handoff turn``: what the engine commits when it hands a customer over: store the inbound message,
  create the ticket, mark the message handled, queue the handoff reply and the staff notification.
* ``claim, 1 agent``: ``Database.claim`` on every open ticket in queue order.
* ``claim, 10 agents``: ten connections race over the head of the queue (as in the concurrency test);
  the rate counts successful claims, the losers' attempts are the price of contention.

Baseline, same process and file settings: plain synchronous ``sqlite3`` doing the same ticket and event
inserts and the same conditional claim update, without aiosqlite's thread hop and without building rows
into dataclasses. Each figure is the median over ``--runs`` fresh database files, with ``synchronous=FULL``
(the product default: an fsync per commit) and ``NORMAL`` (what the fsync costs).

    python -m benchmarks.queue_throughput --tickets 500 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.core.model import Author, Priority, Reason
from bot.storage import Database
from bot.storage.records import DEFAULT_SLA, to_db_time
from bot.storage.reports import queue_entries

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRIORITIES = list(Priority)


async def _customers(db: Database, count: int = 50) -> list[int]:
    return [(await db.upsert_customer("bench", f"c{n}", f"Customer {n}", "de")).id for n in range(count)]


async def bench_create(path: Path, tickets: int, synchronous: str) -> float:
    async with await Database.open(path, synchronous=synchronous) as db:
        customers = await _customers(db)
        start = time.perf_counter()
        for n in range(tickets):
            await db.create_ticket(
                customers[n % len(customers)],
                reason=Reason.UNMATCHED,
                priority=PRIORITIES[n % 4],
                anger=0,
                anger_reasons=(),
                summary="benchmark",
                first_message_id=None,
                now=NOW,
            )
        return tickets / (time.perf_counter() - start)


async def bench_handoff(path: Path, tickets: int, synchronous: str) -> float:
    async with await Database.open(path, synchronous=synchronous) as db:
        customers = await _customers(db)
        start = time.perf_counter()
        for n in range(tickets):
            customer = customers[n % len(customers)]
            message = await db.record_inbound(
                customer, text="Ich will einen Menschen", attachment=None, payload=None,
                channel_message_id=str(n), received_at=NOW,
            )  # fmt: skip
            async with db.transaction() as tx:
                ticket = await tx.create_ticket(
                    customer, reason=Reason.REQUESTED, priority=Priority.NORMAL, anger=0, anger_reasons=(),
                    summary="Ich will einen Menschen", first_message_id=message.id, now=NOW,
                )  # fmt: skip
                await tx.wait_estimate(Priority.NORMAL, NOW)
                await tx.enqueue_outbound(
                    customer, text="Ticket #1", author=Author.BOT, ticket_id=ticket.id, now=NOW
                )
                await tx.enqueue_staff("ticket_created", ticket.id, {"ticket_id": ticket.id}, NOW)
                await tx.mark_handled(message.id, analysis_json="{}", ticket_id=ticket.id)
        return tickets / (time.perf_counter() - start)


async def bench_claim(path: Path, tickets: int, synchronous: str) -> float:
    await bench_create(path, tickets, synchronous)
    async with await Database.open(path, synchronous=synchronous) as db:
        async with db.snapshot() as tx:
            order = [entry.ticket.id for entry in await queue_entries(tx, NOW, limit=tickets)]
        start = time.perf_counter()
        for ticket_id in order:
            assert await db.claim(ticket_id, "agent", NOW)
        return tickets / (time.perf_counter() - start)


async def bench_claim_agents(path: Path, tickets: int, synchronous: str, agents: int = 10) -> float:
    await bench_create(path, tickets, synchronous)
    go = asyncio.Event()

    async def agent(name: str) -> int:
        rng = random.Random(name)
        won = 0
        async with await Database.open(path, synchronous=synchronous) as db:
            await go.wait()
            while True:
                async with db.snapshot() as tx:
                    head = await queue_entries(tx, NOW, statuses=["open"], limit=20)
                if not head:
                    return won
                won += await db.claim(rng.choice(head).ticket.id, name, NOW)

    tasks = [asyncio.create_task(agent(f"agent{n}")) for n in range(agents)]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    go.set()
    won = sum(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - start
    assert won == tickets
    return tickets / elapsed


def _baseline_conn(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=15)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


async def baseline_create(path: Path, tickets: int, synchronous: str) -> float:
    await (await Database.open(path)).close()  # same schema
    conn = _baseline_conn(path, synchronous)
    try:
        conn.execute("INSERT INTO customers (channel, external_id, created_at) VALUES ('bench', 'c', '2026')")
        stamp = to_db_time(NOW)
        start = time.perf_counter()
        for n in range(tickets):
            priority = PRIORITIES[n % 4]
            sla = DEFAULT_SLA[priority]
            conn.execute("BEGIN IMMEDIATE")
            ticket_id = conn.execute(
                "INSERT INTO tickets (customer_id, status, priority, reason, summary, created_at, waiting_since,"
                " first_response_due, resolution_due, updated_at) VALUES (1, 'open', ?, 'unmatched', '', ?, ?, ?, ?, ?)",
                (priority.value, stamp, stamp, to_db_time(NOW + sla.first_response),
                 to_db_time(NOW + sla.resolution), stamp),
            ).lastrowid  # fmt: skip
            conn.execute(
                "INSERT INTO events (ticket_id, actor, kind, created_at) VALUES (?, 'bot', 'created', ?)",
                (ticket_id, stamp),
            )
            conn.execute("COMMIT")
        return tickets / (time.perf_counter() - start)
    finally:
        conn.close()


async def baseline_claim(path: Path, tickets: int, synchronous: str) -> float:
    await baseline_create(path, tickets, synchronous)
    conn = _baseline_conn(path, synchronous)
    try:
        ids = [
            row[0]
            for row in conn.execute("SELECT id FROM tickets ORDER BY priority_rank DESC, waiting_since")
        ]
        stamp = to_db_time(NOW)
        start = time.perf_counter()
        for ticket_id in ids:
            conn.execute("BEGIN IMMEDIATE")
            changed = conn.execute(
                "UPDATE tickets SET status = 'assigned', assignee = 'agent', updated_at = ?"
                " WHERE id = ? AND status = 'open' AND assignee IS NULL",
                (stamp, ticket_id),
            ).rowcount
            if changed:
                conn.execute(
                    "INSERT INTO events (ticket_id, actor, kind, created_at) VALUES (?, 'agent', 'claimed', ?)",
                    (ticket_id, stamp),
                )
            conn.execute("COMMIT")
        return tickets / (time.perf_counter() - start)
    finally:
        conn.close()


Bench = Callable[[Path, int, str], Awaitable[float]]
CASES: list[tuple[str, Bench]] = [
    ("create ticket", bench_create),
    ("handoff turn (2 commits)", bench_handoff),
    ("claim, 1 agent", bench_claim),
    ("claim, 10 agents racing (10 connections)", bench_claim_agents),
    ("baseline: sqlite3 create", baseline_create),
    ("baseline: sqlite3 claim", baseline_claim),
]


def measure(tickets: int, runs: int, synchronous: str) -> dict[str, float]:
    """Median rate per case. Runs are interleaved (every case once per round) so that load from other
    processes on the machine drifts into all cases alike instead of skewing whichever ran at the time."""
    rates: dict[str, list[float]] = {name: [] for name, _ in CASES}
    for _ in range(runs):
        for name, bench in CASES:
            with tempfile.TemporaryDirectory() as folder:
                rates[name].append(asyncio.run(bench(Path(folder) / "bench.db", tickets, synchronous)))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=500, help="tickets per run")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (the median is reported)")
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = handle.read().split()[0]
    full = measure(args.tickets, args.runs, "FULL")
    normal = measure(args.tickets, args.runs, "NORMAL")
    print(
        f"{args.tickets} tickets per run, median of {args.runs} runs, one file; load average at start {load}\n"
    )
    print("| per second | synchronous=FULL (default) | synchronous=NORMAL |")
    print("| --- | ---: | ---: |")
    for name, _ in CASES:
        print(f"| {name} | {full[name]:,.0f} | {normal[name]:,.0f} |")


if __name__ == "__main__":
    main()
