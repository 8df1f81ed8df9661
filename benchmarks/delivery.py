"""From a customer's update to the bot's answer on Telegram: latency and throughput under a burst.

The real bot runs in-process (``TelegramBot``: PTB Application, the inbox, the engine with the shipped
``intents/`` folder, the outbox sender, a real SQLite file with ``synchronous=FULL``) against the in-repo fake
Bot API, with a simulated Telegram round trip (``--latency``, half before the fake answers, half after).
Customers are greeted first (``/start``, not measured); then every customer sends ``--messages`` questions
at once. Measured per question: seconds from the moment the fake Bot API queued its update to the moment the
bot's answer reached the fake (the k-th answer in a chat answers the k-th question), p50 and p99, and answers
per second from the burst to the last answer.

``--concurrency 1`` is the serial sender as it was before (one reply at a time across all customers);
``--limiter telegram`` is the production rate limiter (about 30 messages a second overall: a burst of 30,
then one every 33 ms), ``off`` removes it to show what the bot itself can do.

    python -m benchmarks.delivery                          # the table in docs/benchmarks.md (about 2 min)
    python -m benchmarks.delivery --customers 100 --messages 1 --latency 0.1 --concurrency 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter
from telegram.request import BaseRequest, RequestData

from benchmarks.common import percentile
from bot.channels.telegram.app import RETRIES_ON_FLOOD, SplitRateLimiter, default_rate_limiter
from bot.channels.telegram.channel import CHANNEL_NAME
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.runtime import TelegramBot
from bot.content.loader import load_folder
from bot.service.delivery import OutboxSender
from bot.storage import Database
from tests.channels.telegram.fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeRequest, FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("Wo finde ich meine Rechnung?", "Rechnung herunterladen", "Ich brauche meine Rechnung als PDF")
FIRST_CUSTOMER = 100_000


class SlowRequest(FakeRequest):
    """The fake Bot API with a network round trip: ``latency`` seconds per call, half each way."""

    def __init__(self, telegram: FakeTelegram, latency: float) -> None:
        super().__init__(telegram)
        self.latency = latency

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self.latency:
            await asyncio.sleep(self.latency / 2)
        answer = await super().do_request(url, method, request_data, read_timeout, write_timeout)
        if self.latency:
            await asyncio.sleep(self.latency / 2)
        return answer


def quick_rate_limiter() -> SplitRateLimiter:
    return SplitRateLimiter(
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=RETRIES_ON_FLOOD),
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=RETRIES_ON_FLOOD),
    )


@dataclass(frozen=True)
class Result:
    customers: int
    messages: int
    latency: float
    concurrency: int
    limiter: str
    p50: float
    p99: float
    per_second: float
    answers: int


async def run(customers: int, messages: int, latency: float, concurrency: int, limiter: str) -> Result:
    fake = FakeTelegram()
    answered: dict[int, list[float]] = defaultdict(list)
    measuring = False

    def observe(method: str, params: dict[str, object]) -> None:
        chat = params.get("chat_id")
        if measuring and method == "sendMessage" and isinstance(chat, int | str) and int(chat) > 0:
            answered[int(chat)].append(time.perf_counter())

    fake.observers.append(observe)
    with tempfile.TemporaryDirectory() as folder:
        config = TelegramConfig(
            token=TOKEN,
            staff_chat_id=STAFF_CHAT_ID,
            database=Path(folder) / "bot.db",
            intents=ROOT / "intents",
        )
        async with await Database.open(config.database) as db:
            bot = TelegramBot(
                config,
                db,
                load_folder(config.intents),
                request=SlowRequest(fake, latency),
                get_updates_request=SlowRequest(fake, latency),
                rate_limiter=default_rate_limiter() if limiter == "telegram" else quick_rate_limiter(),
            )
            bot.sender = OutboxSender(db, {CHANNEL_NAME: bot.channel}, concurrency=concurrency)
            async with bot.running(poll_timeout=1):
                users = [fake.user(FIRST_CUSTOMER + n, f"Kunde {n}", "de") for n in range(customers)]
                for user in users:
                    fake.private_message(user, "/start")
                await fake.wait_for(lambda: all(fake.texts(u["id"]) for u in users), within=300)
                measuring = True
                sent_at: dict[int, list[float]] = defaultdict(list)
                for k in range(messages):
                    for user in users:
                        fake.private_message(user, QUESTIONS[k % len(QUESTIONS)])
                        sent_at[user["id"]].append(time.perf_counter())
                start = min(t for times in sent_at.values() for t in times)
                await fake.wait_for(
                    lambda: all(len(answered[u["id"]]) >= messages for u in users), within=600
                )
                measuring = False
    delays = [
        answer - asked
        for chat, asked_times in sent_at.items()
        for asked, answer in zip(asked_times, answered[chat], strict=False)
    ]
    last = max(t for times in answered.values() for t in times)
    return Result(
        customers=customers,
        messages=messages,
        latency=latency,
        concurrency=concurrency,
        limiter=limiter,
        p50=percentile(delays, 50),
        p99=percentile(delays, 99),
        per_second=len(delays) / (last - start),
        answers=sum(len(times) for times in answered.values()),
    )


MATRIX = [
    (messages, latency, concurrency, limiter)
    for latency in (0.0, 0.1)
    for messages in (1, 3)
    for concurrency, limiter in ((1, "telegram"), (30, "telegram"), (30, "off"))
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--messages", type=int, help="questions per customer (default: 1 and 3)")
    parser.add_argument("--latency", type=float, help="seconds per Telegram round trip (default: 0 and 0.1)")
    parser.add_argument("--concurrency", type=int, help="customers served at once (default: 1 and 30)")
    parser.add_argument("--limiter", choices=("telegram", "off"), help="default: both (see above)")
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = handle.read().split()[0]
    cases = [
        case
        for case in MATRIX
        if (args.messages is None or case[0] == args.messages)
        and (args.latency is None or case[1] == args.latency)
        and (args.concurrency is None or case[2] == args.concurrency)
        and (args.limiter is None or case[3] == args.limiter)
    ] or [(args.messages or 1, args.latency or 0.0, args.concurrency or 30, args.limiter or "telegram")]
    print(f"{args.customers} customers, load average at start {load}\n")
    print("| messages | latency | sender | rate limiter | p50 s | p99 s | answers/s |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: |")
    results = []
    for messages, latency, concurrency, limiter in cases:
        result = asyncio.run(run(args.customers, messages, latency, concurrency, limiter))
        results.append(result)
        sender = "serial (before)" if concurrency == 1 else f"{concurrency} at once"
        print(
            f"| {args.customers} × {messages} | {latency * 1000:.0f} ms | {sender} | {limiter} | "
            f"{result.p50:.2f} | {result.p99:.2f} | {result.per_second:.1f} |",
            flush=True,
        )
    print(json.dumps([result.__dict__ for result in results]))


if __name__ == "__main__":
    main()
