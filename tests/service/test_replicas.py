"""Outbox senders and timed jobs of several replicas (one Database object each) on one database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.channels.base import Outbound
from bot.core.model import Author
from bot.service.delivery import OutboxSender
from bot.service.replicas import run_job
from bot.storage import Database
from bot.storage.coordination import JOB


@pytest.fixture
async def replicas(db: Database) -> AsyncIterator[list[Database]]:
    others = [await Database.open(db.path) for _ in range(2)]
    try:
        yield [db, *others]
    finally:
        for other in others:
            await other.close()


@dataclass
class Recorder:
    """A channel per replica writing into one shared list of what the customers received."""

    replica: str
    arrived: list[tuple[str, str, str]]
    name: str = "test"
    pauses: list[float] = field(default_factory=list)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        await asyncio.sleep(0.005 * random.random())
        self.arrived.append((self.replica, user_id, message.text))
        return None


async def test_three_replicas_senders_deliver_every_reply_once_each_customer_in_order(
    replicas: list[Database],
) -> None:
    now = datetime.now(UTC)
    expected: dict[str, list[str]] = {}
    for n in range(15):
        customer = await replicas[0].upsert_customer("test", f"u{n}", f"U {n}", "de")
        expected[customer.external_id] = [f"u{n} reply {i}" for i in range(4)]
        for text in expected[customer.external_id]:
            await replicas[0].enqueue_outbound(customer.id, text=text, author=Author.BOT, now=now)
    arrived: list[tuple[str, str, str]] = []
    senders = [
        OutboxSender(db, {"test": Recorder(name, arrived)}, owner=name, concurrency=4)
        for db, name in zip(replicas, "ABC", strict=True)
    ]
    counts = await asyncio.gather(*(sender.run_once() for sender in senders))
    assert sum(counts) == 60 == len(arrived)  # every reply once: no doubles, none lost
    for user, texts in expected.items():
        assert [text for _, who, text in arrived if who == user] == texts
    assert len({replica for replica, _, _ in arrived}) > 1
    assert await replicas[0].delivery_marks() == (0, 0)


async def test_a_timed_job_runs_on_one_replica_only(replicas: list[Database]) -> None:
    ran: list[str] = []
    stop = asyncio.Event()

    def job(name: str) -> asyncio.Task[None]:
        async def work() -> None:
            ran.append(name)
            if len(ran) >= 5:
                stop.set()

        return asyncio.create_task(
            run_job(db_of[name], "snooze", work, stop, every=0.01, lease=60, owner=name)
        )

    db_of = dict(zip("ABC", replicas, strict=True))
    await asyncio.wait_for(asyncio.gather(*(job(name) for name in "ABC")), 10)
    assert len(set(ran)) == 1  # the holder ran it every time, the others never
    assert await replicas[0].lease_holder(JOB, "snooze", datetime.now(UTC)) is None  # released on stop
