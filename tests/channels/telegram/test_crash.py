"""SIGKILL the real ``python -m bot run`` where it hurts most; after a restart no customer message is lost.

Telegram forgets an update once the bot confirms it: by the offset of its next ``getUpdates``, or by
answering a webhook POST with 2xx. These tests kill the bot exactly then (the fake Bot API signals the
confirming ``getUpdates`` the moment it arrives), and at random points of bursts, restart it on the same
database, and require an answer for every customer message. A crash may duplicate a reply that was on the
wire (sent, its "sent" mark not yet committed): each such row is sent again once per crash, and every
duplicate the customers see must be one the database counted as a resend.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.service.delivery import CONCURRENCY

from .conftest import FIXTURES
from .fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeServer, FakeTelegram

ROOT = Path(__file__).resolve().parents[3]
QUESTION = "Wo finde ich meine Rechnung?"
ANSWER = "Kundencenter"
SECRET = "crash-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """``python -m bot run`` against the fake, restartable on the same database; each run logs to a file."""

    def __init__(
        self, fake: FakeTelegram, server: FakeServer, tmp_path: Path, webhook_port: int | None = None
    ):
        self.fake = fake
        self.tmp_path = tmp_path
        self.database = tmp_path / "bot.db"
        self.webhook_port = webhook_port
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        self.env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_STAFF_CHAT_ID=str(STAFF_CHAT_ID),
            TELEGRAM_API_BASE_URL=server.url,
            BOT_DATABASE=str(self.database),
            BOT_INTENTS=str(FIXTURES / "intents"),
            BOT_LOG_LEVEL="INFO",
            BOT_WEB_PORT=str(_free_port()),  # not the default 8080, which another bot may hold
        )
        if webhook_port is not None:
            self.env.update(
                TELEGRAM_WEBHOOK_URL="https://bot.example.com/hook",
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
                TELEGRAM_WEBHOOK_PORT=str(webhook_port),
            )
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0
        self.kills = 0

    @property
    def log(self) -> Path:
        return self.tmp_path / f"run{self.runs}.log"

    async def start(self) -> None:
        """Start and return once it receives updates (polling began, or the webhook was registered)."""
        ready_call = "deleteWebhook" if self.webhook_port is None else "setWebhook"
        before = len(self.fake.calls_to(ready_call))
        self.runs += 1
        with self.log.open("w") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        await self.fake.wait_for(lambda: len(self.fake.calls_to(ready_call)) > before, within=30)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        text = self.log.read_text()
        assert code == 0, text
        return text

    def resends(self) -> int:
        """Replies the bot sent once more after a crash (``outbox_sending.resends``, shown by db status)."""
        with sqlite3.connect(self.database) as conn:
            row = conn.execute("SELECT coalesce(sum(resends), 0) FROM outbox_sending").fetchone()
        return int(row[0])

    def customer_messages(self) -> tuple[int, int]:
        """``(stored, handled)`` customer messages in the database."""
        with sqlite3.connect(self.database) as conn:
            row = conn.execute(
                "SELECT count(*), count(handled_at) FROM messages WHERE author = 'customer'"
            ).fetchone()
        return int(row[0]), int(row[1])


@contextmanager
def fake_telegram() -> Iterator[tuple[FakeTelegram, FakeServer]]:
    fake = FakeTelegram()
    with FakeServer(fake).running() as server:
        yield fake, server


def answers(fake: FakeTelegram, user_ids: list[int]) -> dict[int, int]:
    return {uid: sum(ANSWER in text for text in fake.texts(uid)) for uid in user_ids}


async def all_answered(fake: FakeTelegram, user_ids: list[int], within: float = 30) -> dict[int, int]:
    deadline = time.monotonic() + within
    while True:
        counts = answers(fake, user_ids)
        if all(counts.values()) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)


def lost(counts: dict[int, int]) -> list[int]:
    return [uid for uid, n in counts.items() if n == 0]


def duplicates(counts: dict[int, int]) -> int:
    return sum(max(0, n - 1) for n in counts.values())


def customers(fake: FakeTelegram, first: int, count: int) -> list[dict[str, Any]]:
    return [fake.user(first + n, f"Kunde{n}", "de") for n in range(count)]


async def test_sigkill_right_after_the_confirming_getupdates_loses_nothing(tmp_path: Path) -> None:
    with fake_telegram() as (fake, server):
        users = customers(fake, 5000, 40)
        for user in users:
            fake.private_message(user, QUESTION)
        confirmed = fake.when_confirmed(fake.updates[-1]["update_id"])
        bot = BotProcess(fake, server, tmp_path)
        await bot.start()
        assert await asyncio.to_thread(confirmed.wait, 30), "the bot never confirmed the batch"
        await bot.kill()
        assert fake.updates == []  # Telegram has forgotten all 40: only the bot's database has them now
        await bot.start()
        counts = await all_answered(fake, [u["id"] for u in users])
        await bot.stop()
    assert lost(counts) == [], f"{len(lost(counts))} of 40 customers never answered"
    assert duplicates(counts) <= bot.resends()
    assert bot.customer_messages() == (40, 40)


async def test_sigkill_after_the_webhook_answered_200_loses_nothing(tmp_path: Path) -> None:
    port = _free_port()
    with fake_telegram() as (fake, server):
        users = customers(fake, 6000, 40)
        for user in users:
            fake.private_message(user, QUESTION)
        bot = BotProcess(fake, server, tmp_path, webhook_port=port)
        await bot.start()
        statuses = await fake.push_to_webhook(f"http://127.0.0.1:{port}/hook")
        await bot.kill()
        assert statuses == [200] * 40 and fake.updates == []  # all confirmed, so Telegram will not resend
        await bot.start()
        counts = await all_answered(fake, [u["id"] for u in users])
        await bot.stop()
    assert lost(counts) == [], f"{len(lost(counts))} of 40 customers never answered"
    assert duplicates(counts) <= bot.resends()
    assert bot.customer_messages() == (40, 40)


async def test_random_sigkills_during_bursts_lose_nothing_and_every_duplicate_is_a_counted_resend(
    tmp_path: Path,
) -> None:
    rng = random.Random(12)
    rounds, burst = 6, 12
    user_ids: list[int] = []
    with fake_telegram() as (fake, server):
        bot = BotProcess(fake, server, tmp_path)
        for round_ in range(rounds):
            await bot.start()
            for user in customers(fake, 7000 + 100 * round_, burst):
                fake.private_message(user, QUESTION)
                user_ids.append(user["id"])
                await asyncio.sleep(rng.uniform(0, 0.01))
            await asyncio.sleep(rng.uniform(0, 0.5))
            await bot.kill()
        # Then two updates the bot cannot parse, and a customer who must not wait behind them.
        fake.raw_update("message", {"message_id": 1, "chat": {"id": 99, "type": "private"}, "text": "x"})
        fake.raw_update(
            "message",
            {
                "message_id": 2,
                "date": int(time.time()),
                "chat": {"id": 99, "type": "private"},
                "poll": {
                    "id": "1", "question": "q", "options": [{"text": "a", "voter_count": 0}],
                    "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                    "allows_multiple_answers": False,
                },
            },
        )  # fmt: skip
        (last,) = customers(fake, 9000, 1)
        fake.private_message(last, QUESTION)
        user_ids.append(last["id"])
        await bot.start()
        counts = await all_answered(fake, user_ids)
        log = await bot.stop()
    assert lost(counts) == [], f"{len(lost(counts))} of {len(user_ids)} messages never answered"
    resent = bot.resends()
    print(f"{bot.kills} kills: {duplicates(counts)} duplicate answers seen, {resent} resends counted")
    assert duplicates(counts) <= resent, f"{duplicates(counts)} duplicates, only {resent} resends counted"
    assert resent <= bot.kills * CONCURRENCY  # only rows on the wire at a kill are sent again
    assert bot.customer_messages() == (len(user_ids), len(user_ids))
    assert log.count("kept as poisoned") == 2
