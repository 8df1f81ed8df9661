"""A database migrated step by step must equal one created fresh, and keep its data on the way.

SQLite only: ``PRAGMA user_version``, ``sqlite_master`` and the file's rebuilt tables. PostgreSQL's fresh
equals migrated test is in test_postgresql.py."""

from __future__ import annotations

import asyncio
import re
import sqlite3
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
        assert tables is not None and tables[0] == fresh_schema().count("CREATE TABLE ")
    finally:
        for db in databases:
            await db.close()


T = "2026-03-02T09:00:00.000000+00:00"


async def test_the_tickets_rebuild_keeps_rows_references_and_allows_withdrawn(tmp_path: Path) -> None:
    """Issue #13 rebuilt ``tickets`` to add the 'withdrawn' resolution; nothing pointing at a ticket breaks."""
    path = tmp_path / "old.db"
    conn = await connect(path)
    try:
        await migrate(conn, target=LATEST - 1)
        await conn.execute(
            "INSERT INTO customers (id, channel, external_id, created_at) VALUES (1, 't', 'u', '2026')"
        )
        await conn.execute(
            "INSERT INTO tickets (id, customer_id, status, priority, reason, created_at, waiting_since,"
            " first_response_due, resolution_due, updated_at)"
            f" VALUES (7, 1, 'open', 'high', 'angry', '{T}', '{T}', '{T}', '{T}', '{T}')"
        )
        await conn.execute(
            "INSERT INTO messages (customer_id, ticket_id, author, text, created_at)"
            " VALUES (1, 7, 'customer', 'hallo', ?)",
            (T,),
        )
        await conn.execute(
            "INSERT INTO events (ticket_id, actor, kind, created_at) VALUES (7, 'bot', 'created', ?)", (T,)
        )
        await conn.commit()
        assert await migrate(conn) == (LATEST - 1, LATEST)
        async with conn.execute("PRAGMA foreign_keys") as cursor:
            row = await cursor.fetchone()
            assert row is not None and row[0] == 1  # switched back on after the migration
    finally:
        await conn.close()
    async with await Database.open(path) as db:
        ticket = await db.ticket(7)
        assert ticket is not None and ticket.priority.value == "high"
        assert [m.text for m in await db.ticket_messages(7)] == ["hallo"]
        async with db.transaction() as tx:
            assert await tx.withdraw(7, ticket.created_at)
        closed = await db.ticket(7)
        assert closed is not None and closed.resolution == "withdrawn"


async def test_one_active_ticket_per_customer_keeps_the_newest_of_old_duplicates(tmp_path: Path) -> None:
    """Migration 0009 adds the partial unique index; a database that already has two active tickets for one
    customer keeps the newest (the one the bot and staff work with) and closes the older as handed back."""
    path = tmp_path / "old.db"
    conn = await connect(path)
    try:
        await migrate(conn, target=8)
        await conn.execute(
            "INSERT INTO customers (id, channel, external_id, created_at) VALUES (1, 't', 'u', '2026')"
        )
        for ticket_id in (3, 5):
            await conn.execute(
                "INSERT INTO tickets (id, customer_id, status, priority, reason, created_at, waiting_since,"
                " first_response_due, resolution_due, updated_at)"
                f" VALUES ({ticket_id}, 1, 'open', 'high', 'angry', '{T}', '{T}', '{T}', '{T}', '{T}')"
            )
        await conn.commit()
        assert await migrate(conn) == (8, LATEST)
    finally:
        await conn.close()
    async with await Database.open(path) as db:
        active = await db.active_ticket(1)
        old = await db.ticket(3)
        assert active is not None and active.id == 5
        assert old is not None and (old.status.value, old.resolution) == ("resolved", "handed_back")
        assert [(e.kind, e.detail) for e in await db.ticket_events(3)] == [("duplicate_closed", {"kept": 5})]
        # And from now on the database itself refuses a second active ticket.
        async with db.transaction() as tx:
            with pytest.raises(sqlite3.IntegrityError):
                await tx.execute(
                    "INSERT INTO tickets (customer_id, status, priority, reason, created_at, waiting_since,"
                    " first_response_due, resolution_due, updated_at)"
                    f" VALUES (1, 'open', 'high', 'angry', '{T}', '{T}', '{T}', '{T}', '{T}')"
                )
