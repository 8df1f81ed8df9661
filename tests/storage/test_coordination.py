"""Several replicas on one database: each is its own Database object here, racing for the same rows."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.core.model import Author
from bot.storage import Database
from bot.storage.coordination import JOB, OUTBOX, Budget, LeaseLost, inbox_scope

from .conftest import T0

LEASE = timedelta(seconds=15)


async def queue(db: Database, customers: int, replies: int) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for n in range(customers):
        customer = await db.upsert_customer("test", f"u{n}", f"U {n}", "de")
        rows[customer.external_id] = [
            await db.enqueue_outbound(customer.id, text=f"u{n} reply {i}", author=Author.BOT, now=T0)
            for i in range(replies)
        ]
    return rows


async def test_racing_replicas_claim_each_customer_once_and_send_each_row_once_in_order(
    replicas: list[Database],
) -> None:
    expected = await queue(replicas[0], customers=12, replies=4)
    sent: list[tuple[str, str, int]] = []  # (replica, recipient, outbox id)

    async def replica(db: Database, name: str) -> None:
        while True:
            claims = await db.claim_outbox("test", name, now=T0, until=T0 + LEASE, customers=3)
            if not claims:
                return
            for claim in claims:
                for item in claim.items:
                    assert await db.mark_sending(item.id, T0, owner=name, lease_until=T0 + LEASE)
                    await asyncio.sleep(0)  # let the others race meanwhile
                    sent.append((name, item.recipient, item.id))
                    await db.mark_sent(item.id, None, T0)
                await db.release_leases(OUTBOX, name, [claim.key])

    await asyncio.gather(*(replica(db, name) for db, name in zip(replicas, "ABC", strict=True)))
    assert sorted(row for _, _, row in sent) == sorted(row for rows in expected.values() for row in rows)
    for recipient, rows in expected.items():
        assert [row for _, who, row in sent if who == recipient] == rows  # each customer's order
    assert await replicas[0].due_outbox("test", now=T0) == []


async def test_a_customer_held_by_one_replica_is_not_claimed_by_another(replicas: list[Database]) -> None:
    a, b, _ = replicas
    await queue(a, customers=1, replies=2)
    (claim,) = await a.claim_outbox("test", "A", now=T0, until=T0 + LEASE, customers=5)
    assert [item.text for item in claim.items] == ["u0 reply 0", "u0 reply 1"]
    assert await b.claim_outbox("test", "B", now=T0, until=T0 + LEASE, customers=5) == []
    # A sends the first; a newer reply queued meanwhile still waits for A (or for A's lease to end).
    await a.mark_sent(claim.items[0].id, None, T0)
    assert (
        await b.claim_outbox("test", "B", now=T0 + timedelta(seconds=5), until=T0 + LEASE, customers=5) == []
    )


async def test_a_dead_replicas_customer_is_taken_over_when_its_lease_ends_and_the_resend_counted(
    replicas: list[Database],
) -> None:
    a, b, _ = replicas
    rows = (await queue(a, customers=1, replies=2))["u0"]
    (claim,) = await a.claim_outbox("test", "A", now=T0, until=T0 + LEASE, customers=5)
    assert claim.interrupted == []
    assert await a.mark_sending(rows[0], T0, owner="A", lease_until=T0 + LEASE)
    # A dies here: the request may or may not have reached the customer.
    assert (
        await b.claim_outbox("test", "B", now=T0 + LEASE - timedelta(seconds=1), until=T0, customers=5) == []
    )
    later = T0 + LEASE + timedelta(seconds=1)
    (taken,) = await b.claim_outbox("test", "B", now=later, until=later + LEASE, customers=5)
    assert [item.id for item in taken.items] == rows  # from the interrupted row on, in order
    assert [(i.outbox_id, i.resends, i.gave_up) for i in taken.interrupted] == [(rows[0], 1, False)]
    assert await b.delivery_marks() == (0, 1)
    # A comes back to life: its lease is gone, so it must not send anything more for this customer.
    with pytest.raises(LeaseLost):
        await a.mark_sending(rows[1], later, owner="A", lease_until=later + LEASE)
    assert await b.mark_sending(rows[0], later, owner="B", lease_until=later + LEASE)


async def test_recovery_at_start_leaves_rows_another_replica_is_sending_alone(
    replicas: list[Database],
) -> None:
    a, b, _ = replicas
    rows = (await queue(a, customers=1, replies=1))["u0"]
    await a.claim_outbox("test", "A", now=T0, until=T0 + LEASE, customers=5)
    assert await a.mark_sending(rows[0], T0, owner="A", lease_until=T0 + LEASE)
    assert await b.recover_sending(["test"], T0, owner="B") == []  # A is alive and sending it
    assert await a.delivery_marks() == (1, 0)


async def test_racing_replicas_process_every_update_once_and_each_chat_in_order(
    replicas: list[Database],
) -> None:
    updates = [(str(n), f"chat{n % 5}", json.dumps({"update_id": n})) for n in range(1, 41)]
    await replicas[0].store_updates("telegram", updates, T0)
    done: list[tuple[str, str, int]] = []

    async def replica(db: Database, name: str) -> None:
        while True:
            heads = await db.claim_updates("telegram", name, now=T0, until=T0 + LEASE, chats=2)
            if not heads:
                return
            for head in heads:
                row = head
                while row is not None:
                    await asyncio.sleep(0)
                    done.append((name, row.chat, int(row.external_id)))
                    await db.finish_update(row.id, T0)
                    row = await db.next_update("telegram", head.chat, name, now=T0, until=T0 + LEASE)

    await asyncio.gather(*(replica(db, name) for db, name in zip(replicas, "ABC", strict=True)))
    assert sorted(number for _, _, number in done) == list(range(1, 41))
    for chat in {chat for _, chat, _ in updates}:
        numbers = [number for _, c, number in done if c == chat]
        assert numbers == sorted(numbers)
    assert (await replicas[0].inbox_counts())["pending"] == 0
    async with replicas[0].snapshot() as tx:
        assert await tx.fetch_all("SELECT * FROM leases") == []  # every chat's lease given back


async def test_an_update_whose_replica_died_is_taken_over_and_counted(replicas: list[Database]) -> None:
    a, b, _ = replicas
    await a.store_updates("telegram", [("1", "chat", "{}"), ("2", "chat", "{}")], T0)
    (head,) = await a.claim_updates("telegram", "A", now=T0, until=T0 + LEASE, chats=5)
    assert head.attempts == 0
    assert await b.claim_updates("telegram", "B", now=T0, until=T0 + LEASE, chats=5) == []
    later = T0 + LEASE + timedelta(seconds=1)
    (again,) = await b.claim_updates("telegram", "B", now=later, until=later + LEASE, chats=5)
    assert (again.external_id, again.attempts) == ("1", 1)
    assert await a.next_update("telegram", "chat", "A", now=later, until=later + LEASE) is None
    assert await b.lease_holder(inbox_scope("telegram"), "chat", later) == "B"


async def test_one_replica_of_three_holds_a_job_and_another_takes_over_when_it_lapses(
    replicas: list[Database],
) -> None:
    until = T0 + timedelta(seconds=90)
    taken = await asyncio.gather(
        *(
            db.take_lease(JOB, "snooze", name, now=T0, until=until)
            for db, name in zip(replicas, "ABC", strict=True)
        )
    )
    assert sorted(str(t) for t in taken) == ["None", "None", "free"]
    holder = "ABC"[[t is not None for t in taken].index(True)]
    other = next(name for name in "ABC" if name != holder)
    assert await replicas[0].take_lease(JOB, "snooze", holder, now=T0, until=until) == "kept"
    assert (
        await replicas[1].take_lease(JOB, "snooze", other, now=until - timedelta(seconds=1), until=until)
        is None
    )
    assert await replicas[1].take_lease(JOB, "snooze", other, now=until, until=until + LEASE) == "taken"


async def test_replicas_sharing_a_budget_get_at_most_its_limit_per_window(replicas: list[Database]) -> None:
    budget = Budget("telegram", 30, 1.0)
    moments = [T0, T0 + timedelta(milliseconds=400), T0 + timedelta(milliseconds=999)]  # one window

    async def replica(db: Database) -> list[float]:
        return [await db.take_budget(budget, moments[n % 3]) for n in range(100)]

    answers = [wait for waits in await asyncio.gather(*(replica(db) for db in replicas)) for wait in waits]
    assert answers.count(0.0) == 30  # of 300 asked for in the same second
    assert all(0 < wait <= 1.0 for wait in answers if wait)
    window = int(T0.timestamp())
    assert await replicas[0].budget_use("telegram") == (window, 30)
    # The next window has room again, for exactly as many.
    later = T0 + timedelta(seconds=1)
    granted = [await replicas[n % 3].take_budget(budget, later) for n in range(50)]
    assert granted.count(0.0) == 30
    assert await replicas[0].budget_use("telegram") == (window + 1, 30)


async def test_a_429_pauses_the_budget_for_every_replica(replicas: list[Database]) -> None:
    a, b, c = replicas
    group = Budget("telegram:group:-100", 20, 60.0)
    assert await a.take_budget(group, T0) == 0.0
    await b.block_budget(group.name, T0 + timedelta(seconds=7))
    assert await c.take_budget(group, T0 + timedelta(seconds=1)) == pytest.approx(6.0)  # the 429's pause
    private = Budget("telegram", 30, 1.0)
    await a.block_budget(private.name, T0 + timedelta(seconds=7))
    assert await c.take_budget(private, T0 + timedelta(seconds=1)) == pytest.approx(6.0)
    assert await b.take_budget(private, T0 + timedelta(seconds=7)) == 0.0


async def test_a_generation_bumped_by_one_replica_is_seen_by_all(replicas: list[Database]) -> None:
    assert [await db.generation("content") for db in replicas] == [0, 0, 0]
    assert await replicas[1].bump_generation("content", T0) == 1
    assert await replicas[2].bump_generation("content", T0) == 2
    assert [await db.generation("content") for db in replicas] == [2, 2, 2]
