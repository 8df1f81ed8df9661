"""The outbox sender: customers in parallel, each customer's replies in order, in-flight rows marked."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.channels.base import Outbound
from bot.core.model import Author
from bot.service.delivery import OutboxSender
from bot.storage import Database
from bot.storage.outbox import MAX_RESENDS


@dataclass
class GatedChannel:
    """A channel whose deliveries to chosen customers wait for a gate; records what arrived, in order."""

    db: Database
    name: str = "test"
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)
    marks_seen: list[tuple[int, int]] = field(default_factory=list)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        self.marks_seen.append(await self.db.delivery_marks())
        if user_id in self.gates:
            await self.gates[user_id].wait()
        await asyncio.sleep(self.delays.get(user_id, 0) * random.random())
        self.sent.append((user_id, message.text))
        return str(len(self.sent))


async def queue(db: Database, user: str, *texts: str) -> list[int]:
    now = datetime.now(UTC)
    customer = await db.upsert_customer("test", user, user, "de")
    return [await db.enqueue_outbound(customer.id, text=t, author=Author.BOT, now=now) for t in texts]


async def test_a_slow_customer_does_not_hold_up_another(db: Database) -> None:
    channel = GatedChannel(db, gates={"slow": asyncio.Event()})
    await queue(db, "slow", "first for slow")
    await queue(db, "quick", "first for quick")
    sender = OutboxSender(db, {"test": channel})
    round_ = asyncio.create_task(sender.run_once())
    for _ in range(500):  # the serial sender would wait for "slow" forever here
        if channel.sent:
            break
        await asyncio.sleep(0.01)
    assert channel.sent == [("quick", "first for quick")]
    channel.gates["slow"].set()
    assert await round_ == 2
    assert channel.sent[-1] == ("slow", "first for slow")


async def test_each_customers_replies_arrive_in_order_while_customers_run_in_parallel(db: Database) -> None:
    users = [f"u{n}" for n in range(12)]
    for user in users:
        await queue(db, user, *(f"{user} reply {i}" for i in range(5)))
    channel = GatedChannel(db, delays=dict.fromkeys(users, 0.01))
    sender = OutboxSender(db, {"test": channel}, concurrency=4)
    assert await sender.run_once() == 60
    for user in users:
        assert [text for who, text in channel.sent if who == user] == [f"{user} reply {i}" for i in range(5)]
    assert [who for who, _ in channel.sent] != sorted(who for who, _ in channel.sent)  # interleaved


async def test_a_row_is_marked_as_being_sent_before_the_channel_call(db: Database) -> None:
    await queue(db, "anna", "hello")
    channel = GatedChannel(db)
    await OutboxSender(db, {"test": channel}).run_once()
    assert channel.marks_seen == [(1, 0)]  # one row being sent, during the call
    assert await db.delivery_marks() == (0, 0)  # and nothing in flight afterwards


async def test_a_row_interrupted_mid_send_is_sent_once_more_and_counted(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    (row,) = await queue(db, "anna", "hello")
    assert await db.mark_sending(row, datetime.now(UTC))  # what a process that then died had done
    channel = GatedChannel(db)
    assert await OutboxSender(db, {"test": channel}).run_once() == 1  # the next process
    assert channel.sent == [("anna", "hello")]
    assert await db.delivery_marks() == (0, 1)
    assert any("may arrive twice" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_a_row_interrupted_again_and_again_is_parked_instead_of_sent_forever(db: Database) -> None:
    (row,) = await queue(db, "anna", "hello")
    for _ in range(MAX_RESENDS + 1):
        assert await db.mark_sending(row, datetime.now(UTC))
        await OutboxSender(db, {"test": GatedChannel(db, gates={"anna": asyncio.Event()})}).recover()
    channel = GatedChannel(db)
    assert await OutboxSender(db, {"test": channel}).run_once() == 0
    assert channel.sent == []
    async with db.snapshot() as tx:
        parked = await tx.fetch_one("SELECT status, last_error FROM outbox WHERE id = ?", (row,))
    assert parked is not None and parked["status"] == "failed"
    assert "interrupted" in parked["last_error"]


async def test_concurrency_one_is_the_serial_sender(db: Database) -> None:
    await queue(db, "a", "a1", "a2")
    await queue(db, "b", "b1")
    channel = GatedChannel(db)
    assert await OutboxSender(db, {"test": channel}, concurrency=1).run_once() == 3
    assert channel.sent == [("a", "a1"), ("a", "a2"), ("b", "b1")]
