"""The outbox shared by several replicas: how fast it drains, and whether anything is doubled or reordered.

Each replica is its own :class:`Database` (a SQLite connection, or a PostgreSQL pool) with its own
:class:`OutboxSender` and a channel that only waits ``--latency`` seconds per message (the platform's round
trip; no rate limit). ``--customers`` customers have ``--replies`` replies queued each; every replica drains
the outbox at once. Reported: replies per second from start to the last one, duplicates (must be 0: nothing
dies here), customers whose replies arrived out of order (must be 0), and the database transactions per reply
counted on the senders' side (claim, being-sent mark, sent mark, lease release).

    python -m benchmarks.outbox_claims                      # both engines, 1 and 3 replicas
    python -m benchmarks.outbox_claims --engines sqlite --replicas 1 2 3 --latency 0.05
    python -m benchmarks.outbox_claims --budget             # the shared 30/s: the same total with 3 replicas
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.channels.base import Outbound
from bot.channels.telegram.budget import SharedBudget
from bot.core.model import Author
from bot.service.delivery import OutboxSender
from bot.storage import Database
from tests import pg


@dataclass
class Wire:
    """A channel with a network round trip, recording (recipient, text) in arrival order; with ``budget``
    each message first takes its place in the budget every replica shares (as the Telegram limiter does)."""

    latency: float
    arrived: list[tuple[str, str]]
    budget: SharedBudget | None = None
    name: str = "bench"

    async def send(self, user_id: str, message: Outbound) -> str | None:
        if self.budget is not None:
            await self.budget.take()
        await asyncio.sleep(self.latency)
        self.arrived.append((user_id, message.text))
        return None


class Counted(Database):
    """Counts transactions (the round trips that matter: each one is a commit)."""

    transactions = 0

    def transaction(self):  # type: ignore[no-untyped-def,override]
        Counted.transactions += 1
        return super().transaction()


async def run(
    location: str | Path, replicas: int, customers: int, replies: int, latency: float, shared: bool = False
) -> dict[str, float]:
    async with await Database.open(location) as setup:
        now = datetime.now(UTC)
        for n in range(customers):
            customer = await setup.upsert_customer("bench", f"c{n}", f"C {n}", "de")
            for k in range(replies):
                await setup.enqueue_outbound(customer.id, text=f"{k}", author=Author.BOT, now=now)
    arrived: list[tuple[str, str]] = []
    databases = [await Counted.open(location) for _ in range(replicas)]
    try:
        senders = [
            OutboxSender(
                db, {"bench": Wire(latency, arrived, SharedBudget(db) if shared else None)}, owner=f"r{n}"
            )
            for n, db in enumerate(databases)
        ]
        Counted.transactions = 0
        start = time.perf_counter()
        await asyncio.gather(*(sender.run_once() for sender in senders))
        seconds = time.perf_counter() - start
    finally:
        for db in databases:
            await db.close()
    total = customers * replies
    counts = Counter(arrived)
    by_customer: dict[str, list[int]] = {}
    for who, text in arrived:
        by_customer.setdefault(who, []).append(int(text))
    return {
        "delivered": len(set(arrived)),
        "missing": total - len(set(arrived)),
        "duplicates": sum(n - 1 for n in counts.values()),
        "out_of_order": sum(1 for seq in by_customer.values() if seq != sorted(seq)),
        "per_second": total / seconds,
        "transactions_per_reply": Counted.transactions / total,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--replicas", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--budget", action="store_true", help="take every message from the shared Telegram budget (30/s)"
    )
    args = parser.parse_args()
    print("| engine | replicas | replies/s | transactions per reply | duplicates | out of order | missing |")
    print("|---|---|---|---|---|---|---|")
    for engine in args.engines:
        for replicas in args.replicas:
            with tempfile.TemporaryDirectory() as folder:
                if engine == "sqlite":
                    result = await run(
                        Path(folder) / "bench.db",
                        replicas,
                        args.customers,
                        args.replies,
                        args.latency,
                        args.budget,
                    )
                else:
                    with pg.scratch_database("carebot_bench") as url:
                        result = await run(
                            url, replicas, args.customers, args.replies, args.latency, args.budget
                        )
            print(
                f"| {engine} | {replicas} | {result['per_second']:.0f} | {result['transactions_per_reply']:.2f}"
                f" | {result['duplicates']:.0f} | {result['out_of_order']:.0f} | {result['missing']:.0f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
