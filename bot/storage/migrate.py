"""Schema versions, applied atomically: one transaction per run on either engine.

A new database gets its engine's fresh schema in one step (``schema.sql``, ``schema.postgresql.sql``); an
older one gets each ``migrations/<engine>/NNNN_*.sql`` in turn. PostgreSQL's folder starts at
``0009_baseline.sql`` (the schema as of SQLite's version 9), so a version number means the same schema on
both engines.

SQLite keeps the version in ``PRAGMA user_version`` (the file header), written in the same ``BEGIN
IMMEDIATE`` transaction: a crash (or a failing statement) leaves the previous version intact, and two
processes starting together serialise on the write lock. PostgreSQL keeps it in the one-row table
``schema_version``; DDL is transactional there too, and a transaction-scoped advisory lock
(:data:`bot.storage.dialect.MIGRATION_LOCK`) makes replicas starting together migrate one after another:
the second finds the work done.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from typing import Any

import aiosqlite

from bot.storage.dialect import (
    MIGRATION_LOCK,
    POSTGRESQL,
    SCHEMA_VERSION_TABLE,
    SQLITE,
    Dialect,
    Engine,
    dialect,
)


class SchemaError(RuntimeError):
    """The database was written by a newer version of the bot, or a migration failed."""


def _read(name: str) -> str:
    return resources.files("bot.storage").joinpath(name).read_text(encoding="utf-8")


def migrations(engine: Engine = "sqlite") -> list[tuple[int, str]]:
    """``(version, script)`` for every migration file of ``engine``, in order (numbered without gaps)."""
    folder = resources.files("bot.storage").joinpath(dialect(engine).migrations_folder)
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _ in found]
    first = versions[0] if versions else 1
    if versions != list(range(first, first + len(found))):
        raise SchemaError(f"{engine} migration files must be numbered without gaps, found {versions}")
    return found


LATEST = len(migrations("sqlite"))
FIRST_POSTGRESQL = migrations("postgresql")[0][0]


def fresh_schema(engine: Engine = "sqlite") -> str:
    return _read(dialect(engine).fresh_schema)


def statements(script: str) -> list[str]:
    """Split a SQLite script into statements.

    ``executescript`` would be simpler, but it commits any open transaction first, which would make a
    migration non-atomic.
    """
    result: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            result.append(pending.strip())
            pending = ""
    if pending.strip():
        raise SchemaError(f"incomplete SQL statement: {pending.strip()[:80]!r}")
    return result


async def user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def _check_goal(before: int, goal: int) -> None:
    if before > LATEST:
        raise SchemaError(
            f"database schema version {before} is newer than this bot's ({LATEST}); upgrade the bot"
        )
    if goal < before:
        raise SchemaError(f"cannot migrate down from version {before} to {goal}")


async def migrate(conn: aiosqlite.Connection, target: int | None = None) -> tuple[int, int]:
    """Bring the SQLite database to ``target`` (default: latest); returns ``(before, after)`` versions.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so that the explicit ``BEGIN`` here is
    the only transaction.
    """
    goal = LATEST if target is None else target
    # A migration may rebuild a table (SQLite cannot alter a CHECK constraint); dropping the old table
    # would trip the foreign keys that point at it. SQLite's documented procedure: keys off outside the
    # transaction, PRAGMA foreign_key_check inside it before committing, keys back on afterwards.
    async with conn.execute("PRAGMA foreign_keys") as cursor:
        row = await cursor.fetchone()
    keys_on = bool(row and row[0])
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        return await _migrate(conn, goal)
    finally:
        if keys_on:
            await conn.execute("PRAGMA foreign_keys = ON")


async def _migrate(conn: aiosqlite.Connection, goal: int) -> tuple[int, int]:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        before = await user_version(conn)
        _check_goal(before, goal)
        if before == 0 and goal == LATEST and not await _has_tables(conn):
            scripts = [fresh_schema()]
        else:
            scripts = [script for version, script in migrations() if before < version <= goal]
        for script in scripts:
            for statement in statements(script):
                await conn.execute(statement)
        async with conn.execute("PRAGMA foreign_key_check") as cursor:
            broken = list(await cursor.fetchall())
        if broken:
            raise SchemaError(f"migration left {len(broken)} broken foreign key(s), e.g. {tuple(broken[0])}")
        if goal != before:
            await conn.execute(f"PRAGMA user_version = {int(goal)}")
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise
    return before, goal


async def _has_tables(conn: aiosqlite.Connection) -> bool:
    async with conn.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") as cursor:
        row = await cursor.fetchone()
    return bool(row and row[0])


# --- PostgreSQL -------------------------------------------------------------------------------------------


async def pg_version(conn: Any) -> int:
    """The schema version of a PostgreSQL database (0: never migrated). ``conn``: psycopg, autocommit."""
    cursor = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present")
    row = await cursor.fetchone()
    if not row or not row[0]:
        return 0
    cursor = await conn.execute("SELECT max(version) FROM schema_version")
    row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def migrate_postgresql(conn: Any, target: int | None = None, *, fresh: bool = True) -> tuple[int, int]:
    """Bring a PostgreSQL database to ``target`` (default: latest); ``(before, after)``.

    ``conn`` is a psycopg connection in autocommit mode. Everything, the version row included, happens in
    one transaction under the migration advisory lock. ``fresh=False`` takes the migrations even for a new
    database (the test that both paths agree).
    """
    goal = LATEST if target is None else target
    if goal < FIRST_POSTGRESQL:
        raise SchemaError(f"PostgreSQL schemas start at version {FIRST_POSTGRESQL}, not {goal}")
    await conn.execute("BEGIN")
    try:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(SCHEMA_VERSION_TABLE)
        before = await pg_version(conn)
        _check_goal(before, goal)
        if before == 0 and goal == LATEST and fresh:
            scripts = [fresh_schema("postgresql")]
        else:
            scripts = [script for version, script in migrations("postgresql") if before < version <= goal]
        for script in scripts:
            await conn.execute(script)  # no parameters: psycopg sends the whole script (functions included)
        if goal != before:
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (goal,))
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return before, goal


def engine_dialect(engine: Engine) -> Dialect:
    return SQLITE if engine == "sqlite" else POSTGRESQL
