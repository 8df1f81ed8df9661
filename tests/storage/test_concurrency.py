"""Ten agents, each with its own Database (its own connection, or its own pool), race for a thousand tickets.

Each agent reads the head of the queue (stale as soon as it is read, like a real screen) and tries to claim
a ticket from it. On SQLite ``BEGIN IMMEDIATE`` plus the conditional update must give every ticket exactly one
owner, and ``busy_timeout`` must turn contention into waiting, never into "database is locked". On
PostgreSQL (READ COMMITTED, ten pools = ten processes' worth of connections) the row lock of the claim and
the same conditional update must do it, with no serialization error reaching the agent.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

from bot.core.model import Priority, Reason, TicketStatus
from bot.storage import Database
from bot.storage.reports import queue_entries

TICKETS = 1000
AGENTS = 10
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _seed(path: Path | str) -> None:
    async with await Database.open(path) as db, db.transaction() as tx:
        for n in range(TICKETS):
            customer = await tx.upsert_customer("terminal", f"c{n}", f"Customer {n}", "de")
            await tx.create_ticket(
                customer.id,
                reason=Reason.UNMATCHED,
                priority=list(Priority)[n % 4],
                anger=0,
                anger_reasons=(),
                summary="",
                first_message_id=None,
                now=NOW,
            )


async def _agent(path: Path | str, name: str, start: asyncio.Event) -> tuple[list[int], int]:
    rng = random.Random(name)
    won: list[int] = []
    lost = 0
    async with await Database.open(path) as db:
        await start.wait()
        while True:
            async with db.snapshot() as tx:
                head = await queue_entries(tx, NOW, statuses=["open"], limit=20)
            if not head:
                return won, lost
            ticket_id = rng.choice(head).ticket.id
            if await db.claim(ticket_id, name, NOW):
                won.append(ticket_id)
            else:
                lost += 1


async def test_every_ticket_is_claimed_exactly_once(database_location: Path | str) -> None:
    path = database_location
    await _seed(path)
    start = asyncio.Event()
    agents = [asyncio.create_task(_agent(path, f"agent{n}", start)) for n in range(AGENTS)]
    await asyncio.sleep(0.2)  # every agent has opened its connection and waits at the line
    start.set()
    results = await asyncio.gather(*agents)
    claimed = [ticket for won, _ in results for ticket in won]
    assert len(claimed) == TICKETS
    assert len(set(claimed)) == TICKETS
    assert sum(lost for _, lost in results) > 0, "the race never happened; the test proves nothing"
    async with await Database.open(path) as db, db.snapshot() as tx:
        rows = await tx.fetch_all("SELECT status, assignee, count(*) AS n FROM tickets GROUP BY 1, 2")
        claims = await tx.fetch_one("SELECT count(*) FROM events WHERE kind = 'claimed'")
    by_agent = {row["assignee"]: row["n"] for row in rows}
    assert {row["status"] for row in rows} == {TicketStatus.ASSIGNED.value}
    # An agent that won nothing (possible on a loaded machine) has no row in the GROUP BY.
    assert by_agent == {f"agent{n}": len(results[n][0]) for n in range(AGENTS) if results[n][0]}
    assert claims is not None and claims[0] == TICKETS


async def test_a_caller_cancelled_during_begin_leaves_the_connection_usable(db: Database) -> None:
    """A browser closing an event stream cancels its task, perhaps while BEGIN runs in aiosqlite's thread.

    Before the fix every later transaction on the shared connection failed with "cannot start a
    transaction within a transaction" (200 of 200 tries)."""
    for attempt in range(60):
        writer = attempt % 2 == 0

        async def work(write: bool = writer) -> None:
            async with db.transaction() if write else db.snapshot() as tx:
                await tx.fetch_one("SELECT count(*) FROM tickets")

        task = asyncio.create_task(work())
        for _ in range(attempt % 3):  # cancel before, during or after BEGIN was handed to the thread
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        customer = await db.upsert_customer("test", f"u{attempt}", "", None)
        assert await db.customer(customer.id) == customer
