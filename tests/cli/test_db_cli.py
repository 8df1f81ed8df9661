"""`python -m bot db migrate|status|copy` on real files and the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.model import Author, Priority, Reason
from bot.storage import Database
from bot.storage.accounts import add_account
from bot.storage.database import connect
from bot.storage.migrate import LATEST, migrate, user_version
from bot.storage.postgres import describe
from tests import pg

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_migrate_creates_then_reports_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data" / "bot.db"
    assert main(["db", "migrate", "--db", str(path)]) == 0
    assert f"migrated from version 0 to {LATEST}" in capsys.readouterr().out
    assert main(["db", "migrate", "--db", str(path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_migrate_upgrades_an_old_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bot.db"

    async def make_v1() -> None:
        conn = await connect(path)
        try:
            await migrate(conn, target=1)
        finally:
            await conn.close()

    async def version() -> int:
        conn = await connect(path)
        try:
            return await user_version(conn)
        finally:
            await conn.close()

    asyncio.run(make_v1())
    monkeypatch.setenv("BOT_DATABASE", str(path))
    assert main(["db", "status"]) == 1  # healthy but behind
    assert f"schema version 1 (this bot: {LATEST})" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert f"migrated from version 1 to {LATEST}" in capsys.readouterr().out
    assert asyncio.run(version()) == LATEST
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "integrity: ok" in out and "tickets" in out


def test_status_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status", "--db", str(tmp_path / "nope.db")]) == 1
    assert "does not exist" in capsys.readouterr().out


def test_help_is_for_staff_not_developers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["db", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "upgrades the schema" in text


def test_status_counts_the_write_ahead_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """QA: "4 KiB" for a database with content, because the data was still in the -wal file (the bot runs)."""
    path = tmp_path / "bot.db"

    async def run_status_while_the_bot_writes() -> tuple[int, int]:
        async with await Database.open(path) as db:  # the running bot keeps its connection open
            async with db.transaction() as tx:
                for n in range(300):
                    await tx.upsert_customer("telegram", str(n), "Kunde " + "x" * 200, "de")
            wal = await asyncio.to_thread(lambda: Path(f"{path}-wal").stat().st_size)
            code = await asyncio.to_thread(main, ["db", "status", "--database", str(path)])
            return code, wal

    code, wal = asyncio.run(run_status_while_the_bot_writes())
    out = capsys.readouterr().out
    assert code == 0 and wal > 32 * 1024
    first = out.splitlines()[0]
    assert "+ WAL " in first and "KiB" in first
    total = int(first.split(", ")[1].split(" KiB")[0].replace(",", ""))
    assert total * 1024 >= wal
    assert re.search(r"^customers +300$", out, re.MULTILINE)  # the column is as wide as the longest name


# --- PostgreSQL and `db copy` -------------------------------------------------------------------------------


def test_migrate_and_status_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    with pg.scratch_database() as url:
        assert main(["db", "migrate", "--db", url]) == 0
        assert f"migrated from version 0 to {LATEST}" in capsys.readouterr().out
        assert main(["db", "migrate", "--db", url]) == 0
        assert "up to date" in capsys.readouterr().out
        assert main(["db", "status", "--database", url]) == 0
        out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{describe(url)}: schema version {LATEST} (this bot: {LATEST}), ")
    assert "PostgreSQL 1" in out.splitlines()[0] and "integrity: ok" in out
    assert re.search(r"^customers +0$", out, re.MULTILINE)


def test_a_server_that_is_not_there_is_one_line_naming_it_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql://carebot:sekret@127.0.0.1:1/carebot"
    for command in (
        ["db", "status", "--db", url],
        ["db", "migrate", "--db", url],
        ["queue", "list", "--db", url],
    ):
        assert main(command) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("error: cannot connect to postgresql://127.0.0.1:1/carebot: ")
        assert captured.err.count("\n") == 1 and "sekret" not in captured.err


def _fill(path: Path) -> None:
    """A small installation with a bit of everything: customers, tickets, replies, a rating, an account."""

    async def fill() -> None:
        async with await Database.open(path) as db:
            for n in range(12):
                customer = await db.upsert_customer("telegram", str(n), f"Kunde {n} – ü\t\\", "de")
                stored = await db.record_inbound(
                    customer.id,
                    text=f"Hallo {n}\n%s ?",
                    attachment=None,
                    payload=None,
                    channel_message_id=str(n),
                    received_at=T0,
                )
                ticket = await db.create_ticket(
                    customer.id,
                    reason=Reason.ANGRY,
                    priority=Priority.HIGH,
                    anger=12.25 * (n % 3),
                    anger_reasons=["laut"],
                    summary="s",
                    first_message_id=stored.id,
                    now=T0,
                )
                async with db.transaction() as tx:
                    await tx.enqueue_outbound(
                        customer.id, text="Antwort", author=Author.BOT, ticket_id=ticket.id, now=T0
                    )
                    if n % 2:
                        await tx.resolve(ticket.id, "alice", T0)
                        await tx.record_rating(ticket.id, 4, T0, customer_id=customer.id)
            async with db.transaction() as tx:
                await add_account(tx, "Alice", "$argon2id$x", admin=True, now=T0)

    asyncio.run(fill())


def test_copy_round_trip_sqlite_postgresql_sqlite_leaves_the_source_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bot.db"
    _fill(source)
    before = (source.read_bytes(), source.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir()))
    back = tmp_path / "back.db"
    with pg.scratch_database() as url:
        assert main(["db", "copy", "--from", str(source), "--to", url]) == 0
        out = capsys.readouterr().out
        assert re.search(r"^customers +12 +12 +[0-9a-f]{16} +ok$", out, re.MULTILINE)
        assert re.search(r"^message_seq +24 +24 +[0-9a-f]{16} +ok$", out, re.MULTILINE)
        assert "counts and checksums match" in out
        # The target is not empty any more: a second copy is refused and changes nothing.
        assert main(["db", "copy", "--from", str(source), "--to", url]) == 2
        assert "is not empty" in capsys.readouterr().err

        # The identity sequences continue after the copied ids.
        async def next_ids() -> tuple[int, int]:
            async with await Database.open(url) as db:
                customer = await db.upsert_customer("web", "new", "", None)
                stored = await db.record_inbound(
                    customer.id,
                    text="neu",
                    attachment=None,
                    payload=None,
                    channel_message_id=None,
                    received_at=T0,
                )
                return customer.id, stored.id

        assert asyncio.run(next_ids()) == (13, 25)
        assert main(["db", "copy", "--from", url, "--to", str(back)]) == 0
        assert "counts and checksums match" in capsys.readouterr().out
    assert (
        source.read_bytes(),
        source.stat().st_mtime_ns,
        sorted(
            p.name for p in tmp_path.iterdir() if p.name != "back.db" and not p.name.startswith("back.db-")
        ),
    ) == before

    # SQLite -> PostgreSQL -> SQLite gives the original rows (plus the one added on PostgreSQL).
    def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as conn:
            return [tuple(row) for row in conn.execute(sql)]

    for sql in (
        "SELECT * FROM tickets ORDER BY id",
        "SELECT * FROM ratings ORDER BY ticket_id",
        "SELECT * FROM staff_accounts",
    ):
        assert rows(back, sql) == rows(source, sql)
    assert rows(back, "SELECT count(*) FROM customers") == [(13,)]
