"""``db copy``: move an installation between engines (SQLite -> PostgreSQL, or back) without loss.

The source is opened read-only (a SQLite file with ``mode=ro``, PostgreSQL in a ``READ ONLY`` snapshot) and
left untouched; the target must be empty. Every table is copied in foreign-key order with its ids, in one
target transaction (all or nothing); PostgreSQL's identity sequences then continue after the highest id.
Finally both sides are compared table by table: row count and a SHA-256 over the rows in primary-key order,
each value written canonically (NULL, integers, floats by ``repr``, text as is), so that the same data gives
the same digest on either engine.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage import postgres
from bot.storage.catalog import columns, schema_version, tables
from bot.storage.database import Database, Tx
from bot.storage.dialect import POSTGRESQL, SQLITE, is_postgresql
from bot.storage.migrate import LATEST
from bot.storage.records import DEFAULT_SLA
from bot.storage.transaction import StorageError, marks

BATCH = 1000
"""Rows per ``executemany`` while copying."""


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def same(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


# --- the checksum -----------------------------------------------------------------------------------------


def canonical(value: object) -> str:
    """One value as text that is the same whichever engine stored it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


async def table_digest(tx: Tx, table: str, stored: Sequence[str], key: Sequence[str]) -> tuple[int, str]:
    """``(rows, sha256)`` of a table: rows in primary-key order (sorted here, not by the server's collation),
    values tab-separated, one line per row."""
    rows = await tx.fetch_all(f"SELECT {', '.join(stored)} FROM {table}")
    positions = [stored.index(column) for column in key] or list(range(len(stored)))
    ordered = sorted(rows, key=lambda row: tuple(_sort_key(row[p]) for p in positions))
    digest = hashlib.sha256()
    for row in ordered:
        digest.update(("\t".join(canonical(row[i]) for i in range(len(stored))) + "\n").encode("utf-8"))
    return len(rows), digest.hexdigest()


def _sort_key(value: object) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, canonical(value))


# --- the copy ---------------------------------------------------------------------------------------------


@asynccontextmanager
async def read_only(location: str | Path) -> AsyncIterator[Tx]:
    """A read-only snapshot of the source; nothing is written to it (no migration, no pragma that writes)."""
    if is_postgresql(location):
        conn = await postgres.connect(str(location))
        try:
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Tx(conn, DEFAULT_SLA, POSTGRESQL)
        finally:
            await conn.close()  # ends the read-only transaction
        return
    path = Path(location)
    uri, had_sidecars = _read_only_uri(path)
    try:
        sqlite_conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise StorageError(f"cannot open the database {path}: {error}") from error
    try:
        sqlite_conn.row_factory = sqlite3.Row
        await sqlite_conn.execute("BEGIN")
        yield Tx(sqlite_conn, DEFAULT_SLA, SQLITE)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"cannot read the database {path}: {error}") from error
    finally:
        await sqlite_conn.close()
        if not had_sidecars:
            _remove_empty_sidecars(path)


def _read_only_uri(path: Path) -> tuple[str, bool]:
    """The ``mode=ro`` URI of the file, and whether its ``-wal``/``-shm`` existed before we opened it."""
    if not path.is_file():
        raise StorageError(f"no database at {path}")
    had = Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists()
    return f"{path.resolve().as_uri()}?mode=ro", had


def _remove_empty_sidecars(path: Path) -> None:
    """A read-only reader of a WAL file leaves an empty ``-wal`` and ``-shm`` behind; remove what it made."""
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and wal.stat().st_size == 0:
        wal.unlink(missing_ok=True)
        shm.unlink(missing_ok=True)


async def copy_database(source: str | Path, target: str | Path) -> list[TableCheck]:
    """Copy everything from ``source`` into the empty ``target`` and compare both; see the module doc.

    Raises :class:`StorageError` (the target is left as it was) when the source is not at the current
    schema version or the target holds data.
    """
    async with read_only(source) as src:
        version = await schema_version(src)
        if version != LATEST:
            raise StorageError(
                f"the source is at schema version {version}, this bot at {LATEST}: run `db migrate` on it first"
            )
        async with await Database.open(target) as dst:
            async with dst.transaction() as tx:
                order = await tables(tx)
                for table in order:
                    found = await tx.fetch_one(f"SELECT 1 FROM {table} LIMIT 1")
                    if found is not None:
                        raise StorageError(f"the target {dst.name} is not empty (table {table} has rows)")
                await _copy_tables(src, tx, order)
            checks = []
            async with dst.snapshot() as after:
                for table in order:
                    stored, key = await columns(after, table)
                    source_rows, source_sha = await table_digest(src, table, stored, key)
                    target_rows, target_sha = await table_digest(after, table, stored, key)
                    checks.append(TableCheck(table, source_rows, target_rows, source_sha, target_sha))
    return checks


async def _copy_tables(src: Tx, tx: Tx, order: Sequence[str]) -> None:
    for table in order:
        stored, _ = await columns(tx, table)
        # Rows a trigger made while earlier tables were copied (message_seq numbers each message) are
        # replaced by the source's own: the target was empty, so anything here came from a trigger.
        await tx.execute(f"DELETE FROM {table}")
        rows = await src.fetch_all(f"SELECT {', '.join(stored)} FROM {table}")
        insert = f"INSERT INTO {table} ({', '.join(stored)}) VALUES ({marks(stored)})"
        for start in range(0, len(rows), BATCH):
            await tx.execute_many(insert, [tuple(row) for row in rows[start : start + BATCH]])
    if tx.engine == "postgresql":
        for row in await tx.fetch_all(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ):
            table, column = str(row[0]), str(row[1])
            await tx.fetch_one(
                f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({column}), 0) + 1, false) FROM {table}",
                (table, column),
            )
