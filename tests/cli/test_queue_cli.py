"""`python -m bot queue` on a real file: readable tables, staff actions, and reading while the bot writes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.queue import parse_until
from bot.core.model import Priority, Reason
from bot.storage import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    monkeypatch.setenv("BOT_INTENTS", str(ROOT / "intents"))
    monkeypatch.setenv("BOT_STAFF_NAME", "alice")
    monkeypatch.setenv("TELEGRAM_STAFF_CHAT_ID", "-1001")  # staff group configured: notifications queued
    asyncio.run(_seed(path, 3))
    return path


async def _seed(path: Path, count: int, start: int = 0) -> None:
    now = datetime.now(UTC)
    async with await Database.open(path) as db:
        for n in range(start, start + count):
            customer = await db.upsert_customer("telegram", str(1000 + n), f"Kunde {n}", "de")
            message = await db.record_inbound(
                customer.id,
                text=f"Mein Internet geht nicht ({n})",
                attachment=None,
                payload=None,
                channel_message_id=None,
                received_at=now - timedelta(minutes=30 - n),
            )
            ticket = await db.create_ticket(
                customer.id,
                reason=Reason.ANGRY if n == 1 else Reason.UNMATCHED,
                priority=Priority.URGENT if n == 1 else Priority.NORMAL,
                anger=70 if n == 1 else 0,
                anger_reasons=["phrase 'geht nicht' (+20)"] if n == 1 else [],
                summary="",
                first_message_id=message.id,
                now=now - timedelta(minutes=30 - n),
            )
            await db.mark_handled(
                message.id,
                analysis_json='{"language": "de", "intents": [{"intent": "outage", "score": 71.5}], '
                '"anger": 70, "anger_reasons": ["phrase \'geht nicht\' (+20)"]}',
                ticket_id=ticket.id,
            )


def test_list_shows_the_most_urgent_first(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "TICKET",
        "PRIORITY",
        "STATUS",
        "AGENT",
        "WAITING",
        "REASON",
        "ANGER",
        "CUSTOMER",
        "SUMMARY",
    ]
    assert [line.split()[0] for line in lines[1:4]] == ["#2", "#1", "#3"]
    assert "urgent" in lines[1] and "Kunde 1" in lines[1] and "Mein Internet geht nicht (1)" in lines[1]


def test_next_claims_the_most_urgent(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "next", "--as", "carol"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#2 is yours, carol.") and "Ticket #2  ASSIGNED  priority urgent" in out


def test_staff_walkthrough(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "claim", "2"]) == 0
    assert main(["queue", "claim", "2", "--as", "bob"]) == 1
    assert main(["queue", "reply", "2", "Wir", "prüfen", "das", "gerade."]) == 0
    assert main(["queue", "note", "2", "Störung im Gebiet Nord"]) == 0
    assert main(["queue", "snooze", "3", "2h", "--as", "bob"]) == 0
    assert main(["queue", "resolve", "2"]) == 0
    capsys.readouterr()
    assert main(["queue", "show", "2"]) == 0
    shown = capsys.readouterr().out
    assert "Ticket #2  RESOLVED  priority urgent  reason angry" in shown
    assert "bot saw: outage 72; language de; anger 70 (phrase 'geht nicht' (+20))" in shown
    assert "Wir prüfen das gerade." in shown
    assert "note alice" in shown and "Störung im Gebiet Nord" in shown
    assert "[1 | 2 | 3 | 4 | 5]" in shown
    assert main(["queue", "list", "--mine", "--as", "bob"]) == 0
    mine = capsys.readouterr().out.splitlines()
    assert len(mine) == 4 and mine[1].split()[:3] == ["#3", "normal", "snoozed"]
    assert main(["queue", "reopen", "3"]) == 0
    assert main(["queue", "handback", "3"]) == 0
    assert main(["queue", "block", "telegram:1000"]) == 0
    assert "closed #1" in capsys.readouterr().out
    assert main(["queue", "stats"]) == 0
    stats = capsys.readouterr().out
    assert "median first response" in stats and "CSAT" in stats
    assert main(["queue", "resolve", "99"]) == 1
    assert "no ticket #99" in capsys.readouterr().err
    assert asyncio.run(_staff_rows(database)) >= 8


async def _staff_rows(path: Path) -> int:
    async with await Database.open(path) as db, db.snapshot() as tx:
        row = await tx.fetch_one("SELECT count(*) FROM outbox WHERE channel = 'staff'")
    return int(row[0]) if row else 0


def test_stats_json(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "stats", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"urgent": {\n      "open": 1\n    }' in out
    assert '"median_first_response_seconds": null' in out


def test_a_mistyped_database_path_is_an_error_not_an_empty_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert main(["queue", "list", "--db", str(missing)]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()


def test_parse_until() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert parse_until("30m", now) == now + timedelta(minutes=30)
    assert parse_until("+2d", now) == now + timedelta(days=2)
    assert parse_until("2026-03-02 14:00", now) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="cannot read"):
        parse_until("soon", now)


def test_list_runs_while_another_process_writes(database: Path) -> None:
    """The bot keeps writing (here: a thread with its own connection); the CLI must still answer."""
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        conn = sqlite3.connect(database, timeout=15, isolation_level=None)
        try:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO events (ticket_id, actor, kind, created_at) VALUES (1, 'bot', 'tick', '2026')"
                )
                conn.execute("COMMIT")
                written[0] += 1
                time.sleep(0.002)  # a busy bot: hundreds of commits a second
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        runs = [
            subprocess.run(
                [sys.executable, "-m", "bot", "queue", "list"],
                cwd=ROOT,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            for _ in range(3)
        ]
        asyncio.run(_seed(database, 2, start=10))  # and a second writer through our own API
    finally:
        stop.set()
        thread.join()
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "#2" in run.stdout and "locked" not in run.stderr
    assert written[0] > 10
