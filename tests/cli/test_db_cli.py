"""`python -m bot db migrate|status` on real files."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import Database
from bot.storage.database import connect
from bot.storage.migrate import LATEST, migrate, user_version


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
