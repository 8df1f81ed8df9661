"""A database migrated step by step must equal one created fresh, and keep its data on the way."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import Database
from bot.storage.database import connect
from bot.storage.migrate import (
    LATEST,
    SchemaError,
    fresh_schema,
    migrate,
    migrations,
    statements,
    user_version,
)


async def _schema(path: Path) -> set[tuple[str, str, str]]:
    async with (
        aiosqlite.connect(path) as conn,
        conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"
        ) as cursor,
    ):
        rows = await cursor.fetchall()
    return {(kind, name, re.sub(r"\s+", " ", sql).strip()) for kind, name, sql in rows}


async def test_every_version_migrates_to_the_fresh_schema(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    await (await Database.open(fresh)).close()
    expected = await _schema(fresh)
    assert len(expected) > 10
    for start in range(1, LATEST + 1):
        old = tmp_path / f"v{start}.db"
        conn = await connect(old)
        try:
            assert await migrate(conn, target=start) == (0, start)
            if start == 1:
                await conn.execute(
                    "INSERT INTO customers (channel, external_id, created_at) VALUES ('t', 'u', '2026')"
                )
        finally:
            await conn.close()
        async with await Database.open(old) as db:
            if start == 1:
                assert (await db.customer_by_external("t", "u")) is not None
        assert await _schema(old) == expected, f"migrating from version {start} differs from fresh"


async def test_migration_is_idempotent_and_refuses_newer_databases(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await (await Database.open(path)).close()
    conn = await connect(path)
    try:
        assert await migrate(conn) == (LATEST, LATEST)
        await conn.execute(f"PRAGMA user_version = {LATEST + 1}")
        with pytest.raises(SchemaError):
            await migrate(conn)
        assert await user_version(conn) == LATEST + 1
    finally:
        await conn.close()
    with pytest.raises(SchemaError):
        await Database.open(path)


async def test_a_failing_migration_leaves_the_old_version(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.db")
    try:
        await migrate(conn, target=1)
        await conn.execute("CREATE TABLE ticket_threads (x TEXT) STRICT")  # collides with version 2
        with pytest.raises(Exception, match="already exists"):
            await migrate(conn)
        assert await user_version(conn) == 1
    finally:
        await conn.close()


def test_migration_files_are_numbered_and_split_cleanly() -> None:
    found = migrations()
    assert [version for version, _ in found] == list(range(1, LATEST + 1))
    for _, script in found:
        assert all(statement.endswith(";") for statement in statements(script))


async def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    """The bot and a staff CLI opening a brand-new file at the same moment must both succeed."""
    path = tmp_path / "bot.db"
    databases = await asyncio.gather(*(Database.open(path) for _ in range(6)))
    try:
        async with databases[0].snapshot() as tx:
            version = await tx.fetch_one("PRAGMA user_version")
            tables = await tx.fetch_one("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        assert version is not None and version[0] == LATEST
        assert tables is not None and tables[0] == fresh_schema().count("CREATE TABLE")
    finally:
        for db in databases:
            await db.close()
