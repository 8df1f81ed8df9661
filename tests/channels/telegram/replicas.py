"""Several real ``python -m bot run`` replicas in webhook mode on one database, fed by the fake Bot API.

Shared by the chaos test (``test_replicas.py``) and ``benchmarks/replicas.py``. The database is a
parameter: the ``BOT_DATABASE`` string the replicas get, a SQLite file path or a ``postgresql://`` URL
(:func:`postgres_database` creates a uniquely named database on the project's PostgreSQL server and drops
it afterwards). Everything the checks read from the database is plain SQL that both engines understand.

Customers are scripted: each sends :data:`QUESTIONS`, five distinct questions of the shipped ``intents/``
folder whose answers carry a known marker, so the k-th answer a customer receives can be matched to the
k-th question. :func:`judge` turns what the customers received (in the order the fake received it) into
the numbers the issue asks for: messages lost, per-customer order violations, duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeTelegram, WebhookDelivery

ROOT = Path(__file__).resolve().parents[3]
SECRET = "replica-test-secret"
HOOK_PATH = "/hook"

QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Wo finde ich meine Rechnung?", "invoice_copy"),
    ("Wie kann ich bezahlen?", "payment_methods"),
    ("Wann endet mein Vertrag?", "contract_term"),
    ("Roaming im Ausland", "roaming"),
    ("Passwort vergessen", "login_password"),
)
"""``(question, intent)`` from the shipped intents: each question is an example of its intent, so the bot
answers it directly, and none of them escalates to a human."""


@functools.cache
def answer_markers(intents: Path = ROOT / "intents") -> tuple[tuple[str, ...], ...]:
    """For each question, the opening words of every German answer variant of its intent (up to the first
    placeholder): a reply starting with one of them answers that question. Read from the folder, so an
    editor rewording an answer does not break the test."""
    from bot.content.loader import load_folder

    content = load_folder(intents).content
    by_id = {intent.id: intent for intent in content.intents}
    markers = []
    for question, intent_id in QUESTIONS:
        intent = by_id[intent_id]
        assert question in intent.examples["de"], f"{question!r} is no longer an example of {intent_id}"
        markers.append(tuple(answer.split("$")[0].strip()[:40] for answer in intent.answers["de"]))
    return tuple(markers)


POSTGRES_SERVER = os.environ.get("BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
"""Where the PostgreSQL variant creates its scratch databases (the machine's server; trust auth)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database the replicas share -----------------------------------------------------------------


def is_postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def _psql(url: str, sql: str) -> list[list[str]]:
    """Run ``sql`` with psql (no Python driver needed here): rows of text fields."""
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    # Unit and record separators: a customer's or the bot's text may hold tabs and newlines.
    return [record.split("\x1f") for record in result.stdout.rstrip("\n").split("\x1e") if record]


def query(database: str, sql: str) -> list[tuple[str, ...]]:
    """Rows of ``sql`` on the replicas' database, every value as text (the same on both engines)."""
    if is_postgres(database):
        return [tuple(row) for row in _psql(database, sql)]
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return [tuple("" if v is None else str(v) for v in row) for row in conn.execute(sql)]


def scalar(database: str, sql: str) -> int:
    rows = query(database, sql)
    return int(rows[0][0] or 0) if rows else 0


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def postgres_database(server: str = POSTGRES_SERVER) -> Iterator[str]:
    """A fresh, uniquely named database on ``server``; yields its URL and drops it afterwards."""
    name = f"carebot_replicas_{uuid.uuid4().hex[:12]}"
    _psql(server, f"CREATE DATABASE {name}")
    try:
        yield _with_database(server, name)
    finally:
        _psql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgres_unavailable(server: str = POSTGRES_SERVER) -> str | None:
    """Why PostgreSQL cannot be used here (None when it can): the benchmark skips its PostgreSQL rows then."""
    try:
        _psql(server, "SELECT 1")
    except (OSError, RuntimeError) as error:
        return f"no PostgreSQL server at {server}: {error}"
    return None


# --- the replicas ------------------------------------------------------------------------------------


class Replica:
    """One ``python -m bot run`` in webhook mode on its own ports; restartable; each run logs to a file.

    ``command`` replaces ``python -m bot run`` (the benchmark runs the bot through a wrapper that counts
    database statements).
    """

    def __init__(
        self,
        number: int,
        api_url: str,
        database: str,
        logs: Path,
        *,
        intents: Path = ROOT / "intents",
        command: Sequence[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.number = number
        self.logs = logs
        self.port = free_port()
        self.command = list(command or [sys.executable, "-m", "bot", "run"])
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        self.env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_STAFF_CHAT_ID=str(STAFF_CHAT_ID),
            TELEGRAM_API_BASE_URL=api_url,
            TELEGRAM_WEBHOOK_URL=f"https://bot.example.com{HOOK_PATH}",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
            TELEGRAM_WEBHOOK_PORT=str(self.port),
            BOT_WEB_HOST="127.0.0.1",
            BOT_WEB_PORT=str(free_port()),
            BOT_DATABASE=database,
            BOT_INTENTS=str(intents),
            BOT_LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
        )
        self.env.update(extra_env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0
        self.kills = 0
        self.exit_code: int | None = None
        """The last run's exit code once stopped (0: a clean SIGTERM shutdown)."""

    @property
    def url(self) -> str:
        """Where the reverse proxy would forward Telegram's POSTs for this replica."""
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    @property
    def log(self) -> Path:
        return self.logs / f"replica{self.number}-run{self.runs}.log"

    async def start(self, within: float = 90.0) -> None:
        """Start and return once the webhook endpoint accepts connections (the inbox is running then)."""
        self.runs += 1
        with self.log.open("w") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + within
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"replica {self.number} exited at start:\n{self.log.read_text()}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"replica {self.number} not listening after {within}s")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> int:
        """SIGTERM and wait; returns the exit code, also kept in :attr:`exit_code` (SIGKILL after 30 s)."""
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.exit_code = self.process.returncode
        return self.exit_code if self.exit_code is not None else 0


@contextlib.asynccontextmanager
async def replicas(
    count: int,
    api_url: str,
    database: str,
    logs: Path,
    *,
    command: Sequence[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[list[Replica]]:
    """``count`` replicas started one after the other (the first creates the schema), stopped at the end."""
    started = [
        Replica(n + 1, api_url, database, logs, command=command, extra_env=extra_env) for n in range(count)
    ]
    try:
        for replica in started:
            await replica.start()
        yield started
    finally:
        await asyncio.gather(*(replica.stop() for replica in started))


# --- customers and what they received ----------------------------------------------------------------


def answer_index(text: str) -> int | None:
    """Which question ``text`` answers (by its marker), or None for anything else (a greeting)."""
    for k, markers in enumerate(answer_markers()):
        if text.startswith(markers):
            return k
    return None


@dataclass
class Verdict:
    """What the customers saw, judged against what they asked (k-th answer for the k-th question)."""

    users: list[int]
    questions: int
    answered: int = 0
    """Questions with at least one answer."""
    lost: list[tuple[int, int]] = field(default_factory=list)
    """``(customer, question index)`` never answered."""
    order_violations: list[int] = field(default_factory=list)
    """Customers who got the answer to a later question before the first answer to an earlier one."""
    duplicates: int = 0
    """Answers received more than once (each extra copy counts one)."""
    late_duplicates: int = 0
    """Duplicates that arrived after the answer to a later question (a customer reads an old answer again)."""

    def summary(self) -> str:
        return (
            f"{len(self.users)} customers × {len(QUESTIONS)}: {self.answered}/{self.questions} answered,"
            f" {len(self.lost)} lost, {len(self.order_violations)} customers with order violations,"
            f" {self.duplicates} duplicate answers ({self.late_duplicates} after a later answer)"
        )


def judge(received: dict[int, list[str]], user_ids: Sequence[int]) -> Verdict:
    verdict = Verdict(users=list(user_ids), questions=len(user_ids) * len(QUESTIONS))
    for user_id in user_ids:
        got = [k for k in map(answer_index, received.get(user_id, [])) if k is not None]
        first = list(dict.fromkeys(got))
        verdict.answered += len(first)
        verdict.lost += [(user_id, k) for k in range(len(QUESTIONS)) if k not in first]
        if first != sorted(first):
            verdict.order_violations.append(user_id)
        verdict.duplicates += len(got) - len(first)
        highest = -1
        for position, k in enumerate(got):
            if k in got[:position] and highest > k:
                verdict.late_duplicates += 1
            highest = max(highest, k)
    return verdict


@dataclass(frozen=True)
class Stored:
    """What the database holds about the customers' messages (the same SQL on both engines)."""

    questions: int
    """Customer messages stored (one row per Telegram message: a redelivery is not stored twice)."""
    distinct: int
    """Distinct (customer, Telegram message id) among them."""
    handled: int
    pending_updates: int
    resends: int
    """``outbox_sending.resends``: replies sent once more because a process died while sending them."""


def stored(database: str, first_user: int, last_user: int) -> Stored:
    where = (
        "author = 'customer' AND customer_id IN (SELECT id FROM customers WHERE channel = 'telegram'"
        f" AND CAST(external_id AS BIGINT) BETWEEN {first_user} AND {last_user})"
    )
    row = query(
        database,
        "SELECT count(*), count(DISTINCT customer_id || ':' || channel_message_id), count(handled_at)"
        f" FROM messages WHERE {where}",
    )[0]
    return Stored(
        questions=int(row[0]),
        distinct=int(row[1]),
        handled=int(row[2]),
        pending_updates=scalar(database, "SELECT count(*) FROM inbound_updates WHERE state = 'pending'"),
        resends=scalar(database, "SELECT coalesce(sum(resends), 0) FROM outbox_sending"),
    )


async def burst(
    fake: FakeTelegram, user_ids: Sequence[int], *, spread: float, seed: int
) -> dict[int, list[float]]:
    """Every customer sends :data:`QUESTIONS` in order, the messages of all customers spread at random over
    ``spread`` seconds (0: all queued at once); returns when each was queued at the fake (perf_counter)."""
    rng = random.Random(seed)
    plan = sorted(
        (offset, user_id, k)
        for user_id in user_ids
        for k, offset in enumerate(sorted(rng.uniform(0, spread) for _ in QUESTIONS))
    )
    queued: dict[int, list[float]] = {user_id: [] for user_id in user_ids}
    start = time.perf_counter()
    for offset, user_id, k in plan:
        delay = start + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        fake.private_message(fake.user(user_id, f"Kunde{user_id}", "de"), QUESTIONS[k][0])
        queued[user_id].append(time.perf_counter())
    return queued


def answers_received(delivery: WebhookDelivery, user_ids: Sequence[int]) -> int:
    """Distinct questions answered so far."""
    return sum(
        len({k for k in map(answer_index, delivery.reply_texts(u)) if k is not None}) for u in user_ids
    )


async def all_answered(delivery: WebhookDelivery, user_ids: Sequence[int], within: float) -> bool:
    """Wait until every question was answered (False after ``within`` seconds), then a moment longer so
    that a late duplicate still on its way is counted too."""
    deadline = time.monotonic() + within
    total = len(user_ids) * len(QUESTIONS)
    while answers_received(delivery, user_ids) < total:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    return True


@dataclass(frozen=True)
class Causes:
    """Where an order violation or a duplicate came from, read from the database (for the report)."""

    turns_out_of_order: int
    """Customers whose answers were *stored* out of order: two replicas ran consecutive turns at once."""
    sends_out_of_order: int
    """Customers whose answers were stored in order but reached them out of order (the outbox)."""
    duplicate_turns: int
    """Questions answered by two stored replies (the turn ran twice), as opposed to one reply sent twice."""


def causes(database: str, verdict: Verdict) -> Causes:
    """Classify the verdict's problems by what the database holds: the stored answers' order (``messages.id``
    of the bot's replies) tells a turn-order problem from a delivery-order problem."""
    stored_order: dict[int, list[int]] = {}
    rows = query(
        database,
        "SELECT c.external_id, m.text FROM messages m JOIN customers c ON c.id = m.customer_id"
        f" WHERE m.author = 'bot' AND c.channel = 'telegram' AND CAST(c.external_id AS BIGINT)"
        f" BETWEEN {min(verdict.users)} AND {max(verdict.users)} ORDER BY m.id",
    )
    for external_id, text in rows:
        k = answer_index(text)
        if k is not None:
            stored_order.setdefault(int(external_id), []).append(k)
    turns = sum(1 for u in verdict.order_violations if stored_order.get(u) != sorted(stored_order.get(u, [])))
    duplicate_turns = sum(len(ks) - len(set(ks)) for ks in stored_order.values())
    return Causes(turns, len(verdict.order_violations) - turns, duplicate_turns)
