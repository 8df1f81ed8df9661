"""Outbox senders and timed jobs of several replicas (one Database object each) on one database."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.channels.base import Outbound
from bot.content.brain import Brain
from bot.content.loader import Content, LoadResult, load_folder
from bot.content.reload import ContentWatcher
from bot.core.model import Author
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.service.replicas import SharedContentReload, expire_dead_local, run_job
from bot.storage import Database
from bot.storage.coordination import JOB
from tests.content.conftest import DEFAULTS, GOOD, ROUTER_INTENT


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


async def test_a_reload_on_one_replica_reaches_every_replica(
    replicas: list[Database], tmp_path: Path
) -> None:
    """Each replica has its own copy of the folder; only the job's holder watches it. Staff type /reload
    on that one: the generation goes up, and a replica whose folder changed reloads too."""
    folders = [tmp_path / name for name in "AB"]
    for folder in folders:
        shutil.copytree(GOOD, folder)
    reloaded: dict[str, list[LoadResult]] = {"A": [], "B": []}
    watchers = {
        name: ContentWatcher(
            folder,
            on_reload=reloaded[name].append,
            initial=load_folder(folder, defaults=DEFAULTS),
            interval=0.02,
            defaults=DEFAULTS,
            shared=SharedContentReload(db, owner=name, lease=60),
        )
        for name, folder, db in zip("AB", folders, replicas, strict=False)
    }
    assert await watchers["A"].shared.may_watch()  # type: ignore[union-attr]  # A holds the job
    stop = asyncio.Event()
    running = [asyncio.create_task(watcher.run(stop)) for watcher in watchers.values()]
    try:
        await asyncio.sleep(0.2)  # both started (each checks its own folder once at start)
        (folders[1] / "router.yaml").write_text(ROUTER_INTENT, encoding="utf-8")
        await asyncio.sleep(0.3)
        assert reloaded["B"] == []  # B does not watch its folder: A does, and A's did not change
        outcome = await watchers["A"].check_now(everywhere=True)
        assert outcome.status == "unchanged"
        for _ in range(250):
            if reloaded["B"]:
                break
            await asyncio.sleep(0.02)
        assert [intent.id for intent in reloaded["B"][-1].content.intents][-1] == "router_reset"
        assert reloaded["A"] == []
        assert await replicas[1].generation("content") == 1
    finally:
        stop.set()
        await asyncio.gather(*running)


async def test_a_restart_takes_over_the_leases_of_this_hosts_dead_processes_only(db: Database) -> None:
    finished = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await finished.wait()  # its pid is free now: a replica that was SIGKILLed
    dead, mine = finished.pid, os.getpid()
    now = datetime.now(UTC)
    owners = {
        "dead": f"box-{dead}-aaaaaa",
        "same pid": f"box-{mine}-bbbbbb",  # a container restarted as pid 1 again, or another container
        "other host": f"elsewhere-{dead}-cccccc",
    }
    for key, owner in owners.items():
        assert await db.take_lease("outbox", key, owner, now=now, until=now + timedelta(minutes=1))
    assert await expire_dead_local(db, f"box-{mine}-dddddd") == 1
    assert await db.lease_holder("outbox", "dead", now) is None
    assert await db.lease_holder("outbox", "same pid", now) == owners["same pid"]
    assert await db.lease_holder("outbox", "other host", now) == owners["other host"]


async def test_two_replicas_recovering_the_same_message_answer_it_once(
    replicas: list[Database], content: Content
) -> None:
    """A replica starting up recovers every unhandled message, also one a live replica is answering: the
    customer's lock makes them take turns, and the second finds it handled instead of answering again."""
    a, b, _ = replicas
    customer = await a.upsert_customer("test", "u9", "Alex", "de")
    stored = await a.record_inbound(
        customer.id,
        text="Rechnung herunterladen",
        attachment=None,
        payload=None,
        channel_message_id="1",
        received_at=datetime.now(UTC),
    )
    services = [ConversationService(db, Brain.build(content)) for db in (a, b)]
    reports = [report for found in await asyncio.gather(*(s.recover() for s in services)) for report in found]
    assert sorted(r.duplicate for r in reports if r.message_id == stored.id)[0] is False
    async with a.snapshot() as tx:
        replies = await tx.fetch_all(
            "SELECT o.id, m.text FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.customer_id = ?",
            (customer.id,),
        )
    texts = [str(r["text"]) for r in replies]
    assert len(texts) == 2 and texts[1].startswith("Ihre Rechnungen"), texts  # greeting + answer, once
