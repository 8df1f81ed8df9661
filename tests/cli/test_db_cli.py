"""`python -m bot db migrate|status` on real files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
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
