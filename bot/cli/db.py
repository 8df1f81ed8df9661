"""`python -m bot db`: schema migrations and a health check of the database file.

The bot migrates on start anyway; ``migrate`` exists so an operator can upgrade (and back up) on their
own schedule, and ``status`` answers "which file, which version, how big, is it healthy?".
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from bot.cli.queue import add_db_argument, db_path, fail, table
from bot.storage.database import connect
from bot.storage.migrate import LATEST, SchemaError, migrate, user_version
from bot.storage.transaction import StorageError

DESCRIPTION = (
    "The database file: `status` tells which file, which schema version, how big, how many rows, and "
    "whether it is healthy; `migrate` upgrades the schema (atomically; the bot also does this on start), "
    "so you can back up and upgrade on your own schedule."
)

TABLES = (
    "customers",
    "conversations",
    "tickets",
    "messages",
    "events",
    "ratings",
    "outbox",
    "ticket_threads",
    "message_links",
    "inbound_updates",
    "outbox_sending",
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("db", help="database schema and health", description=DESCRIPTION)
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION")
    up = actions.add_parser("migrate", help=f"bring the schema to version {LATEST} (atomic)")
    add_db_argument(up)
    up.set_defaults(handler=cmd_migrate)
    status = actions.add_parser("status", help="file, schema version, row counts, integrity")
    add_db_argument(status)
    status.set_defaults(handler=cmd_status)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_migrate(args: argparse.Namespace) -> int:
    path = db_path(args)

    async def main() -> tuple[int, int]:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await _connect(path)
        try:
            return await migrate(conn)
        finally:
            await conn.close()

    try:
        before, after = asyncio.run(main())
    except (SchemaError, StorageError, OSError) as error:
        return fail(str(error))
    if before == after:
        print(f"{path}: schema is up to date (version {after}).")
    else:
        print(f"{path}: migrated from version {before} to {after}.")
    return 0


async def _connect(path: Path) -> aiosqlite.Connection:
    """:func:`connect`, with "not a database" and friends as one :class:`StorageError` naming the file."""
    try:
        return await connect(path)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"cannot open the database {path}: {error}") from error


def kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def file_size(path: Path) -> str:
    """The database's size on disk: the file plus its write-ahead log, where committed changes live until
    a checkpoint copies them into the file (while the bot runs, that can be most of the data)."""
    main = path.stat().st_size
    wal = Path(f"{path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    if not wal_size:
        return kib(main)
    return f"{kib(main + wal_size)} (file {kib(main)} + WAL {kib(wal_size)})"


async def _delivery_lines(conn: aiosqlite.Connection) -> list[str]:
    """The inbox and outbox at a glance: what waits, what was skipped as unprocessable, what was resent."""
    try:
        async with conn.execute("SELECT state, count(*) FROM inbound_updates GROUP BY state") as cursor:
            inbox = {str(state): int(n) for state, n in await cursor.fetchall()}
        async with conn.execute(
            "SELECT count(sending_since), coalesce(sum(resends), 0) FROM outbox_sending"
        ) as cursor:
            marks = await cursor.fetchone()
        async with conn.execute(
            "SELECT status, count(*) FROM outbox WHERE kind = 'message' AND status <> 'sent' GROUP BY status"
        ) as cursor:
            outbox = {str(status): int(n) for status, n in await cursor.fetchall()}
    except sqlite3.OperationalError:
        return []  # an older schema: `db migrate` adds the inbox
    sending, resends = (int(marks[0]), int(marks[1])) if marks else (0, 0)
    return [
        f"inbox: {inbox.get('pending', 0)} update(s) pending, {inbox.get('poisoned', 0)} poisoned"
        " (unprocessable, skipped)",
        f"replies: {outbox.get('pending', 0)} pending, {outbox.get('failed', 0)} failed, {sending} being sent,"
        f" {resends} resent after a crash",
    ]


def cmd_status(args: argparse.Namespace) -> int:
    path = db_path(args)
    if not path.exists():
        print(f"{path}: does not exist yet (it is created on first use, or by `db migrate`).")
        return 1

    async def main() -> int:
        conn = await _connect(path)
        try:
            version = await user_version(conn)
            rows: list[list[object]] = []
            for name in TABLES:
                try:
                    async with conn.execute(f"SELECT count(*) FROM {name}") as cursor:
                        found = await cursor.fetchone()
                    rows.append([name, found[0] if found else 0])
                except sqlite3.OperationalError:
                    rows.append([name, "missing"])
            delivery = await _delivery_lines(conn)
            async with conn.execute("PRAGMA quick_check") as cursor:
                check = [str(row[0]) for row in await cursor.fetchall()]
            async with conn.execute("PRAGMA foreign_key_check") as cursor:
                orphans = len(list(await cursor.fetchall()))
            # Measured while open: closing the last connection checkpoints the WAL into the file.
            size = file_size(path)
        finally:
            await conn.close()
        print(f"{path}: schema version {version} (this bot: {LATEST}), {size}, WAL journal")
        print(table(["TABLE", "ROWS"], rows))
        for line in delivery:
            print(line)
        healthy = check == ["ok"] and orphans == 0
        print(f"integrity: {'ok' if healthy else '; '.join(check) + f'; {orphans} foreign-key problem(s)'}")
        return 0 if healthy and version == LATEST else 1

    try:
        return asyncio.run(main())
    except (StorageError, sqlite3.DatabaseError) as error:
        return fail(str(error) if isinstance(error, StorageError) else f"{path}: {error}")
