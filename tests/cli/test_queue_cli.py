"""`python -m bot queue` on a real file: readable tables, staff actions, and reading while the bot writes."""

from __future__ import annotations

import asyncio
import getpass
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
from bot.core.model import Author, Priority, Reason
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
    capsys.readouterr()
    assert main(["queue", "reply", "2", "Ich", "auch", "--as", "bob"]) == 1
    assert "take it over with `claim 2 --force` first" in capsys.readouterr().err  # the CLI's own hint
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
    assert main(["queue", "block", "--customer", "telegram:1000"]) == 0
    assert "closed #1" in capsys.readouterr().out
    assert main(["queue", "stats"]) == 0
    stats = capsys.readouterr().out
    assert "median first response" in stats and "CSAT" in stats
    # Issue #13: each way a ticket ended is its own figure; only staff resolutions are resolutions.
    assert "resolved by staff 1" in stats and "handed back to the bot 1" in stats
    assert "customer blocked 1" in stats and "withdrawn by the customer 0" in stats
    assert "median resolution (by staff)" in stats and "questions the bot answered" in stats
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


def _run(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, as staff run it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _customers(path: Path) -> dict[str, bool]:
    async with await Database.open(path) as db, db.snapshot() as tx:
        rows = await tx.fetch_all("SELECT display_name, blocked FROM customers")
    return {str(row["display_name"]): bool(row["blocked"]) for row in rows}


def test_block_takes_the_ticket_number_staff_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """QA: `queue block 4` blocked customer #4 (someone else) instead of the customer of ticket #4."""
    path = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    monkeypatch.setenv("BOT_STAFF_NAME", "alice")

    async def seed() -> None:
        async with await Database.open(path) as db:
            await db.upsert_customer("telegram", "1", "Erster Kunde", "de")  # customer #1, no ticket
        await _seed(path, 2)  # customers #2 and #3 with tickets #1 and #2

    asyncio.run(seed())
    assert main(["queue", "block", "#1"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "Blocked Kunde 0, customer #2 telegram:1000 (ticket #1); closed #1."
    assert asyncio.run(_customers(path)) == {"Erster Kunde": False, "Kunde 0": True, "Kunde 1": False}
    assert main(["queue", "block", "1", "--undo"]) == 0
    assert "Unblocked Kunde 0, customer #2" in capsys.readouterr().out
    assert main(["queue", "block", "--customer", "1"]) == 0  # explicitly by customer number
    assert capsys.readouterr().out == "Blocked Erster Kunde, customer #1 telegram:1; no open tickets.\n"
    assert asyncio.run(_customers(path))["Erster Kunde"] is True
    assert main(["queue", "block", "9"]) == 1
    assert "no ticket #9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["queue", "block"])  # ticket or --customer is required


def test_reply_without_the_intents_folder_is_one_clear_line(database: Path, tmp_path: Path) -> None:
    """QA: outside the repo without BOT_INTENTS, reply/resolve/handback crashed with a ContentError."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_INTENTS"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for argv in (["reply", "1", "Hallo"], ["resolve", "1"], ["handback", "#1"]):
        run = _run("queue", *argv, cwd=elsewhere, env=env)
        assert run.returncode == 2, run.stderr
        assert run.stderr == (
            "error: cannot read the intents folder 'intents' (needed for the customer-facing wording): "
            "set BOT_INTENTS or run from the bot's folder\n"
        )
    ok = _run("queue", "reply", "1", "Hallo", "--intents", str(ROOT / "intents"), cwd=elsewhere, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "Reply to #1 queued for delivery.\n"


def test_show_lists_what_the_bot_told_the_customer_after_the_hand_over(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def acknowledge() -> None:
        async with await Database.open(database) as db, db.transaction() as tx:
            await tx.enqueue_outbound(
                1,
                text="Danke, Ihre Nachricht ist bei unserem Team angekommen",
                author=Author.BOT,
                now=datetime.now(UTC),
            )

    asyncio.run(acknowledge())
    assert main(["queue", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "bot            Danke, Ihre Nachricht ist bei unserem Team angekommen" in out


def test_staff_name_without_user_variables_is_the_login_name(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in ("BOT_STAFF_NAME", "USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    login = getpass.getuser()  # from the password database now
    assert login and login != "staff"
    assert main(["queue", "claim", "1"]) == 0
    assert capsys.readouterr().out == f"#1 is yours, {login}.\n"


def test_options_spelled_as_elsewhere_and_tickets_as_listed(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_DATABASE")
    for option in ("--database", "--db"):
        assert main(["queue", "list", option, str(database)]) == 0
        assert "#2" in capsys.readouterr().out
    assert main(["queue", "claim", "#3", "--database", str(database)]) == 0
    assert capsys.readouterr().out == "#3 is yours, alice.\n"
    with pytest.raises(SystemExit):
        main(["queue", "claim", "three", "--database", str(database)])
    assert "not a ticket number: 'three'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["queue", "list", "--status", "bot"])
    assert "invalid choice: 'bot'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["queue", "list", "--help"])
    helptext = capsys.readouterr().out
    assert "show at most N tickets" in helptext and "--database FILE|URL, --db FILE|URL" in helptext
    with pytest.raises(SystemExit):
        main(["queue", "show", "--help"])
    assert "ticket number, as `list` prints it (3 or #3)" in capsys.readouterr().out


def test_snooze_is_capped_and_absurd_times_are_errors(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["queue", "snooze", "1", "99999d"]) == 1
    assert "error: a snooze can last at most 90 days" in capsys.readouterr().err
    assert main(["queue", "snooze", "1", "9999999999d"]) == 1
    assert "too far ahead" in capsys.readouterr().err
    assert main(["queue", "snooze", "1", "90d"]) == 0


def test_events_read_as_words_not_json(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "note", "1", "intern"]) == 0
    assert main(["queue", "claim", "1"]) == 0
    assert main(["queue", "claim", "1", "--as", "bob", "--force"]) == 0
    assert main(["queue", "snooze", "1", "2026-12-24 09:00", "--as", "bob"]) == 0
    capsys.readouterr()
    assert main(["queue", "show", "1"]) == 0
    events = capsys.readouterr().out.split("Events:")[1]
    assert "{" not in events
    assert "bot        created  anger 0, priority normal, reason unmatched" in events
    assert "alice      note  message " in events
    assert "bob        claimed  was with alice" in events
    assert "bob        snoozed  until 2026-12-24 09:00 UTC" in events


def test_resolved_list_shows_when_and_csat_counts_one_rating(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["queue", "resolve", "1"]) == 0

    async def rate() -> None:
        async with await Database.open(database) as db:
            assert await db.record_rating(1, 4, datetime.now(UTC), customer_id=1)

    asyncio.run(rate())
    capsys.readouterr()
    assert main(["queue", "list", "--status", "resolved"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[4] == "RESOLVED"
    assert lines[1].split()[:3] == ["#1", "normal", "resolved"]
    assert lines[1].split()[4] == datetime.now(UTC).strftime("%Y-%m-%d") and "!" not in lines[1]
    assert main(["queue", "stats"]) == 0
    assert "4.00 / 5 (1 rating)" in capsys.readouterr().out


def test_a_file_that_is_not_a_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"PK\x03\x04 this is a zip file, not SQLite" * 50)
    env = {**os.environ, "BOT_DATABASE": str(path)}
    for argv in (["queue", "list"], ["customer", "export", "1"], ["db", "status"], ["db", "migrate"]):
        run = _run(*argv, cwd=tmp_path, env=env)
        assert run.returncode == 2, (argv, run.stderr)
        assert run.stderr == f"error: cannot open the database {path}: file is not a database\n", argv
