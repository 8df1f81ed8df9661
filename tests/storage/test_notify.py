"""Wake-ups across replicas: published through Database A, received by a listener on Database B."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.core.model import Author
from bot.storage import Database
from bot.storage.notify import Notifications

from .conftest import T0


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """A second replica's connection to the same database."""
    async with await Database.open(db.location) as database:
        yield database


class Heard:
    def __init__(self) -> None:
        self.payloads: list[str | None] = []
        self.event = asyncio.Event()

    def __call__(self, payload: str | None) -> None:
        self.payloads.append(payload)
        self.event.set()

    async def next(self) -> str | None:
        await asyncio.wait_for(self.event.wait(), 10)  # a bound, not a speed claim: usually milliseconds
        self.event.clear()
        return self.payloads[-1]


@pytest.fixture
async def listening(other: Database) -> AsyncIterator[tuple[Notifications, Heard, Heard]]:
    """Replica B listening for the ``web`` and ``inbox`` topics until the test ends."""
    b = Notifications(other, owner="B", poll=0.05)
    web, inbox = Heard(), Heard()
    b.subscribe("web", web)
    b.subscribe("inbox", inbox)
    stop = asyncio.Event()
    task = asyncio.create_task(b.run(stop))
    await asyncio.wait_for(b.connected.wait(), 10)
    if other.engine == "postgresql":
        assert await web.next() is None  # after connecting, everyone reads once (covers what was missed)
        await inbox.next()
    try:
        yield b, web, inbox
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_wake_up_published_on_one_replica_reaches_the_other(
    db: Database, listening: tuple[Notifications, Heard, Heard]
) -> None:
    _, web, _ = listening
    a = Notifications(db, owner="A")
    here = Heard()
    a.subscribe("web", here)
    customer = await db.upsert_customer("web", "visitor-1", "V", "de")
    await db.enqueue_outbound(customer.id, text="Hallo", author=Author.BOT, now=T0)
    await a.publish("web", "visitor-1")
    assert here.payloads == ["visitor-1"]  # this replica's own listeners at once
    if db.engine == "postgresql":
        assert await web.next() == "visitor-1"  # NOTIFY, delivered at commit
    else:
        assert await web.next() is None  # the slow poll saw a new message: everyone reads once


@pytest.mark.parametrize("engine", ["postgresql"])  # SQLite has no listening connection
async def test_a_listener_that_reconnects_wakes_everyone_once(
    db: Database, listening: tuple[Notifications, Heard, Heard]
) -> None:
    _, web, _ = listening
    async with db.transaction() as tx:  # what a server restart or a network cut does to the listener
        await tx.fetch_one(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
            " AND pid <> pg_backend_pid()"
        )
    assert await web.next() is None  # reconnected: every local listener reads from its cursor


@pytest.mark.parametrize("engine", ["postgresql"])  # SQLite has no listening connection
async def test_a_new_message_wakes_the_inbox_streams_of_every_replica(
    db: Database, listening: tuple[Notifications, Heard, Heard]
) -> None:
    _, _, inbox = listening
    customer = await db.upsert_customer("web", "visitor-2", "V", "de")
    await db.enqueue_outbound(customer.id, text="Hallo", author=Author.BOT, now=T0)  # the trigger notifies
    assert await inbox.next() is None
