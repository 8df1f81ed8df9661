"""Schema versions by ``PRAGMA user_version``, applied inside one ``BEGIN IMMEDIATE`` transaction.

A new database gets ``schema.sql`` in one step; an older one gets each ``migrations/NNNN_*.sql`` in turn.
``user_version`` lives in the database header and is written in the same transaction, so a crash (or a
failing statement) leaves the previous version intact, and two processes starting together serialise on
the write lock: the second one finds the work done.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

import aiosqlite


class SchemaError(RuntimeError):
    """The database was written by a newer version of the bot, or a migration failed."""


def _read(name: str) -> str:
    return resources.files("bot.storage").joinpath(name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str]]:
    """``(version, script)`` for every migration file, in order."""
    folder = resources.files("bot.storage").joinpath("migrations")
    found: list[tuple[int, str]] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migration files must be numbered 1..n without gaps, found {versions}")
    return found


LATEST = len(migrations())


def fresh_schema() -> str:
    return _read("schema.sql")


def statements(script: str) -> list[str]:
    """Split a script into statements.

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


async def migrate(conn: aiosqlite.Connection, target: int | None = None) -> tuple[int, int]:
    """Bring the database to ``target`` (default: latest); returns ``(before, after)`` versions.

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
        if before > LATEST:
            raise SchemaError(
                f"database schema version {before} is newer than this bot's ({LATEST}); upgrade the bot"
            )
        if goal < before:
            raise SchemaError(f"cannot migrate down from version {before} to {goal}")
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
