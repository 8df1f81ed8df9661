"""Several replicas of the real bot on one database: messages per second, p99 latency, database round trips.

Each configuration starts ``N`` real ``python -m bot run`` processes in Telegram webhook mode on one
database (a SQLite file, or a scratch database on the PostgreSQL server), with the shipped ``intents/``.
The in-repo fake Bot API posts their webhooks round-robin as Telegram does (a chat's next update only after
the previous one was answered; chats in parallel). ``--customers`` customers each send the five questions
of ``tests/channels/telegram/replicas.py`` (their answers are known), all queued at once (``--spread 0``)
or spread over some seconds. Measured per question: seconds from the moment the fake queued it to the
moment the bot's answer to it reached the fake (p50, p99); answers per second from the first question to
the last answer; and database round trips per customer message:

- ``statements/msg``: SQL statements the replicas executed during the burst (every ``BEGIN``, ``COMMIT``,
  query and update, idle polling included) divided by the questions. Counted inside each replica: this
  script runs the bot through a wrapper (``--replica``) that counts the calls into the driver: aiosqlite's
  ``execute*``, ``commit`` and ``rollback``; psycopg 3's cursor ``execute``/``executemany``, transaction
  blocks (their BEGIN and COMMIT) and ``commit``/``rollback``. Statements a trigger runs inside one call
  are not round trips and are not counted;
- ``transactions/msg`` (PostgreSQL only): ``xact_commit + xact_rollback`` of the database in
  ``pg_stat_database`` before and after (pg_stat_statements is not preloaded on the project's server).

Every configuration runs ``--runs`` times (fresh database each time); the table shows the median run. The
baseline (1 replica on SQLite) is measured in the same invocation. ``--limiter off`` (default) replaces
each process's Telegram rate limiter (about 30 messages a second per process) by one that does not
throttle, to show what the bot and its database can do; ``--limiter telegram`` keeps it. This is a 2-core
machine: three replicas compete with each other and with the fake for the same two cores.

    python -m benchmarks.replicas                  # the table in docs/benchmarks.md (about 5 min)
    python -m benchmarks.replicas --quick          # smoke test: 1 replica on SQLite, 5 customers, 1 run
    python -m benchmarks.replicas --replicas 3 --engines postgresql --runs 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import percentile
from tests.channels.telegram import replicas as cluster
from tests.channels.telegram.fake_bot_api import FakeServer, FakeTelegram, WebhookDelivery

COUNT_EVERY = 0.05
"""Seconds between two writes of a replica's statement count to its file."""


# --- inside a replica: count statements, then run the bot -------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements = 0

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.statements += n


def _count_sqlite(counter: _Counter) -> None:
    """Every statement the bot hands to SQLite through aiosqlite (``execute*``, ``commit``, ``rollback``):
    one trip to the connection's thread each. Counted at the driver's API, not with a ``sqlite3`` trace
    callback: CPython reports every statement a trigger runs as one more copy of the statement that fired
    it, which would count the ``message_seq`` trigger as extra round trips."""
    import aiosqlite

    for cls, names in (
        (
            aiosqlite.Connection,
            ("execute", "execute_insert", "execute_fetchall", "executemany", "executescript"),
        ),
        (aiosqlite.Cursor, ("execute", "executemany", "executescript")),
    ):
        for name in names:
            real = getattr(cls, name)

            # aiosqlite returns an object that is both awaitable and an async context manager: pass it on.
            def counted(self: Any, *args: Any, __real: Any = real, **kwargs: Any) -> Any:
                counter.add()
                return __real(self, *args, **kwargs)

            setattr(cls, name, counted)
    for name in ("commit", "rollback"):
        real = getattr(aiosqlite.Connection, name)

        async def ended(self: Any, __real: Any = real) -> Any:
            counter.add()
            return await __real(self)

        setattr(aiosqlite.Connection, name, ended)


def _count_psycopg(counter: _Counter) -> None:
    try:
        import psycopg
    except ImportError:
        return
    for cls in (psycopg.AsyncCursor, psycopg.AsyncClientCursor, psycopg.AsyncServerCursor):
        for name in ("execute", "executemany"):
            real = getattr(cls, name, None)
            if real is None:
                continue

            async def wrapped(self: Any, *args: Any, __real: Any = real, **kwargs: Any) -> Any:
                counter.add()
                return await __real(self, *args, **kwargs)

            setattr(cls, name, wrapped)
    # BEGIN and COMMIT/ROLLBACK of ``async with connection.transaction()`` and explicit commit/rollback.
    for name in ("__aenter__", "__aexit__"):
        real = getattr(psycopg.AsyncTransaction, name)

        async def block(self: Any, *args: Any, __real: Any = real) -> Any:
            counter.add()
            return await __real(self, *args)

        setattr(psycopg.AsyncTransaction, name, block)
    for name in ("commit", "rollback"):
        real = getattr(psycopg.AsyncConnection, name)

        async def ended(self: Any, __real: Any = real) -> Any:
            counter.add()
            return await __real(self)

        setattr(psycopg.AsyncConnection, name, ended)
    for cls in (psycopg.Cursor, psycopg.ClientCursor, psycopg.ServerCursor):
        for name in ("execute", "executemany"):
            real = getattr(cls, name, None)
            if real is None:
                continue

            def wrapped_sync(self: Any, *args: Any, __real: Any = real, **kwargs: Any) -> Any:
                counter.add()
                return __real(self, *args, **kwargs)

            setattr(cls, name, wrapped_sync)


def _no_throttling() -> None:
    from telegram.ext import AIORateLimiter

    from bot.channels.telegram import app

    def unthrottled() -> app.SplitRateLimiter:
        return app.SplitRateLimiter(
            AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=app.RETRIES_ON_FLOOD),
            AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=app.RETRIES_ON_FLOOD),
        )

    app.default_rate_limiter = unthrottled  # type: ignore[assignment]


def serve_replica(count_file: Path, limiter: str) -> int:
    """``python -m bot run`` with a statement counter written to ``count_file`` every few milliseconds."""
    counter = _Counter()
    _count_sqlite(counter)
    _count_psycopg(counter)
    if limiter == "off":
        _no_throttling()

    def write_counts() -> None:
        while True:
            with counter.lock:
                value = counter.statements
            scratch = count_file.with_suffix(".tmp")
            scratch.write_text(str(value))
            scratch.replace(count_file)
            time.sleep(COUNT_EVERY)

    threading.Thread(target=write_counts, daemon=True, name="statement-counter").start()
    from bot.cli import main as bot_main

    return bot_main(["run"])


# --- the benchmark ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    engine: str
    replicas: int
    questions: int
    answered: int
    per_second: float
    p50: float
    p99: float
    statements_per_message: float
    transactions_per_message: float | None


def _statements(files: Sequence[Path]) -> int:
    return sum(int(f.read_text() or 0) for f in files if f.exists())


def _transactions(database: str) -> int | None:
    if not cluster.is_postgres(database):
        return None
    return cluster.scalar(
        database,
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    )


@contextlib.contextmanager
def _database(engine: str, folder: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield str(folder / "bot.db")
    else:
        with cluster.postgres_database() as url:
            yield url


async def run_once(
    engine: str, replicas: int, customers: int, *, spread: float, limiter: str, seed: int = 0
) -> Result:
    fake = FakeTelegram()
    with tempfile.TemporaryDirectory(prefix="carebot-replicas-") as tmp, FakeServer(fake).running() as server:
        folder = Path(tmp)
        counts = [folder / f"statements{n + 1}.txt" for n in range(replicas)]
        with _database(engine, folder) as database:
            async with contextlib.AsyncExitStack() as stack:
                started = []
                for n in range(replicas):
                    command = [sys.executable, "-m", "benchmarks.replicas", "--replica", str(counts[n])]
                    command += ["--limiter", limiter]
                    replica = cluster.Replica(n + 1, server.url, database, folder, command=command)
                    await replica.start()
                    stack.push_async_callback(replica.stop)
                    started.append(replica)
                delivery = WebhookDelivery(fake, [r.url for r in started])
                await stack.enter_async_context(delivery.running())
                users = list(range(200_000, 200_000 + customers))
                await asyncio.sleep(3 * COUNT_EVERY)  # the counters have written their start-up counts
                statements_before, transactions_before = _statements(counts), _transactions(database)
                queued = await cluster.burst(fake, users, spread=spread, seed=seed)
                if not await cluster.all_answered(delivery, users, within=600):
                    raise RuntimeError(f"not every question was answered: see the logs in {folder}")
                answered_at: dict[int, dict[int, float]] = {}
                for user in users:
                    for at, text in delivery.replies.get(user, []):
                        k = cluster.answer_index(text)
                        if k is not None:
                            answered_at.setdefault(user, {}).setdefault(k, at)
                statements = _statements(counts) - statements_before
                after = _transactions(database)
                transactions = (
                    None if after is None or transactions_before is None else after - transactions_before
                )
    delays = [answered_at[u][k] - queued[u][k] for u in users for k in answered_at[u]]
    first = min(t for times in queued.values() for t in times)
    last = max(t for times in answered_at.values() for t in times.values())
    questions = customers * len(cluster.QUESTIONS)
    return Result(
        engine=engine,
        replicas=replicas,
        questions=questions,
        answered=len(delays),
        per_second=len(delays) / (last - first),
        p50=percentile(delays, 50),
        p99=percentile(delays, 99),
        statements_per_message=statements / questions,
        transactions_per_message=None if transactions is None else transactions / questions,
    )


def median_run(results: Sequence[Result]) -> Result:
    """The run with the median throughput (its latencies and counts belong to the same run)."""
    ordered = sorted(results, key=lambda r: r.per_second)
    return ordered[(len(ordered) - 1) // 2]


def configurations(engines: Sequence[str], counts: Sequence[int]) -> list[tuple[str, int]]:
    """The baseline (1 replica on SQLite) first, then every requested engine × replica count."""
    wanted = [(engine, n) for engine in engines for n in counts]
    return [("sqlite", 1)] + [c for c in wanted if c != ("sqlite", 1)]


def row(result: Result, runs: int, baseline: Result) -> str:
    transactions = (
        "–" if result.transactions_per_message is None else f"{result.transactions_per_message:.1f}"
    )
    return (
        f"| {result.engine} | {result.replicas} | {result.questions} | {result.per_second:.1f} |"
        f" {result.per_second / baseline.per_second:.2f}× | {result.p50:.2f} | {result.p99:.2f} |"
        f" {result.statements_per_message:.1f} | {transactions} | {runs} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200, help="each sends 5 questions (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration; the median is shown")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--engines", nargs="+", choices=("sqlite", "postgresql"), default=["postgresql"])
    parser.add_argument("--spread", type=float, default=0.0, help="seconds over which questions arrive")
    parser.add_argument("--limiter", choices=("off", "telegram"), default="off")
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 replica on SQLite, 5 customers")
    parser.add_argument("--replica", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replica is not None:
        return serve_replica(args.replica, args.limiter)
    if args.quick:
        args.customers, args.runs, args.replicas, args.engines = 5, 1, [1], ["sqlite"]
    missing = cluster.postgres_unavailable() if "postgresql" in args.engines else None
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = handle.read().split()[0]
    print(
        f"{args.customers} customers × {len(cluster.QUESTIONS)} questions, spread {args.spread} s,"
        f" limiter {args.limiter}, {os.cpu_count()} cores, load average at start {load}"
    )
    if missing:
        print(f"PostgreSQL skipped: {missing}")
    print(
        "\n| engine | replicas | questions | answers/s | vs baseline | p50 s | p99 s | statements/msg |"
        " transactions/msg | runs |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    results: list[Result] = []
    baseline: Result | None = None
    for engine, count in configurations(args.engines, args.replicas):
        if engine == "postgresql" and missing:
            continue
        runs = [
            asyncio.run(
                run_once(engine, count, args.customers, spread=args.spread, limiter=args.limiter, seed=n)
            )
            for n in range(args.runs)
        ]
        result = median_run(runs)
        baseline = baseline or result
        results.append(result)
        print(row(result, args.runs, baseline), flush=True)
    print(json.dumps([asdict(r) for r in results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
