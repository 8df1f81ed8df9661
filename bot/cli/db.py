"""`python -m bot db`: schema migrations, a health check, and moving the data between engines.

The bot migrates on start anyway; ``migrate`` exists so an operator can upgrade (and back up) on their
own schedule, ``status`` answers "which database, which version, how big, is it healthy?", and ``copy``
moves an installation from its SQLite file to PostgreSQL (or back) with every row compared.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite

from bot.cli.queue import add_db_argument, db_path, fail, table
from bot.config import database_location
from bot.storage import Database
from bot.storage.catalog import existing_tables, schema_version
from bot.storage.database import Tx, connect
from bot.storage.dialect import POSTGRESQL_HEALTH
from bot.storage.migrate import LATEST, SchemaError, migrate, migrate_postgresql
from bot.storage.transaction import StorageError

DESCRIPTION = (
    "The database (a SQLite file or a postgresql:// URL): `status` tells which, which schema version, how "
    "big, how many rows, and whether it is healthy; `migrate` upgrades the schema (atomically; the bot also "
    "does this on start), so you can back up and upgrade on your own schedule; `copy` moves everything to "
    "another, empty database (SQLite to PostgreSQL or back) and compares row counts and checksums."
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
    parser = sub.add_parser("db", help="database schema, health and copies", description=DESCRIPTION)
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION")
    up = actions.add_parser("migrate", help=f"bring the schema to version {LATEST} (atomic)")
    add_db_argument(up)
    up.set_defaults(handler=cmd_migrate)
    status = actions.add_parser("status", help="database, schema version, row counts, integrity")
    add_db_argument(status)
    status.set_defaults(handler=cmd_status)
    copy = actions.add_parser(
        "copy",
        help="copy everything into another, empty database and compare",
        description=(
            "Copy every table, ids included, from the source (--from, default $BOT_DATABASE; opened read-only "
            "and left untouched) into the target (--to; created and migrated if need be, refused unless "
            "empty), in one transaction. Then row counts and a SHA-256 per table are compared and printed. "
            "Stop the bot first: rows written meanwhile would not be copied."
        ),
    )
    copy.add_argument(
        "--from",
        dest="database",
        type=database_location,
        metavar="FILE|URL",
        help="source (default: $BOT_DATABASE or data/bot.db)",
    )
    copy.add_argument("--to", required=True, type=database_location, metavar="FILE|URL", help="empty target")
    copy.set_defaults(handler=cmd_copy)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _name(location: Path | str) -> str:
    """How messages name a database: the path, or the server and database without the password."""
    if isinstance(location, Path):
        return str(location)
    from bot.storage.postgres import describe  # psycopg only for PostgreSQL: SQLite commands start faster

    return describe(location)


def cmd_migrate(args: argparse.Namespace) -> int:
    location = db_path(args)

    async def main() -> tuple[int, int]:
        if isinstance(location, str):
            from bot.storage import postgres

            conn = await postgres.connect(location)
            try:
                return await migrate_postgresql(conn)
            finally:
                await conn.close()
        location.parent.mkdir(parents=True, exist_ok=True)
        sqlite_conn = await _connect(location)
        try:
            return await migrate(sqlite_conn)
        finally:
            await sqlite_conn.close()

    try:
        before, after = asyncio.run(main())
    except (SchemaError, StorageError, OSError) as error:
        return fail(str(error))
    except Exception as error:
        if not isinstance(location, str):
            raise
        from bot.storage.postgres import reason

        return fail(f"{_name(location)}: {reason(error, location)}")
    if before == after:
        print(f"{_name(location)}: schema is up to date (version {after}).")
    else:
        print(f"{_name(location)}: migrated from version {before} to {after}.")
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


async def _delivery_lines(tx: Tx, present: set[str]) -> list[str]:
    """The inbox and outbox at a glance: what waits, what was skipped as unprocessable, what was resent."""
    if not {"inbound_updates", "outbox_sending", "outbox"} <= present:
        return []  # an older schema: `db migrate` adds the inbox
    inbox = {
        str(row[0]): int(row[1])
        for row in await tx.fetch_all("SELECT state, count(*) FROM inbound_updates GROUP BY state")
    }
    marks = await tx.fetch_one("SELECT count(sending_since), coalesce(sum(resends), 0) FROM outbox_sending")
    outbox = {
        str(row[0]): int(row[1])
        for row in await tx.fetch_all(
            "SELECT status, count(*) FROM outbox WHERE kind = 'message' AND status <> 'sent' GROUP BY status"
        )
    }
    sending, resends = (int(marks[0]), int(marks[1])) if marks else (0, 0)
    return [
        f"inbox: {inbox.get('pending', 0)} update(s) pending, {inbox.get('poisoned', 0)} poisoned"
        " (unprocessable, skipped)",
        f"replies: {outbox.get('pending', 0)} pending, {outbox.get('failed', 0)} failed, {sending} being sent,"
        f" {resends} resent after a crash",
    ]


async def _health(tx: Tx) -> tuple[bool, str]:
    """SQLite: ``quick_check`` and ``foreign_key_check``. PostgreSQL: invalid indexes, unchecked constraints."""
    if tx.engine == "sqlite":
        check = [str(row[0]) for row in await tx.fetch_all("PRAGMA quick_check")]
        orphans = len(await tx.fetch_all("PRAGMA foreign_key_check"))
        healthy = check == ["ok"] and orphans == 0
        return healthy, "ok" if healthy else "; ".join(check) + f"; {orphans} foreign-key problem(s)"
    row = await tx.fetch_one(POSTGRESQL_HEALTH)
    bad, unvalidated = (int(row[0]), int(row[1])) if row else (0, 0)
    healthy = bad == 0 and unvalidated == 0
    return healthy, "ok" if healthy else f"{bad} invalid index(es), {unvalidated} unvalidated constraint(s)"


def cmd_status(args: argparse.Namespace) -> int:
    location = db_path(args)
    if isinstance(location, Path) and not location.exists():
        print(f"{location}: does not exist yet (it is created on first use, or by `db migrate`).")
        return 1

    async def main() -> int:
        async with (
            await Database.open(location, migrate_schema=False, pool_size=1) as db,
            db.snapshot() as tx,
        ):
            version = await schema_version(tx)
            present = await existing_tables(tx)
            rows: list[list[object]] = []
            for name in TABLES:
                if name in present:
                    found = await tx.fetch_one(f"SELECT count(*) FROM {name}")
                    rows.append([name, found[0] if found else 0])
                else:
                    rows.append([name, "missing"])
            delivery = await _delivery_lines(tx, present)
            healthy, verdict = await _health(tx)
            if isinstance(location, Path):
                # Measured while open: closing the last connection checkpoints the WAL into the file.
                size = f"{file_size(location)}, WAL journal"
            else:
                found = await tx.fetch_one(
                    "SELECT pg_database_size(current_database()), current_setting('server_version')"
                )
                size = f"{kib(int(found[0]))}, PostgreSQL {found[1]}" if found else "PostgreSQL"
        print(f"{db.name}: schema version {version} (this bot: {LATEST}), {size}")
        print(table(["TABLE", "ROWS"], rows))
        for line in delivery:
            print(line)
        print(f"integrity: {verdict}")
        return 0 if healthy and version == LATEST else 1

    try:
        return asyncio.run(main())
    except StorageError as error:
        return fail(str(error))
    except sqlite3.DatabaseError as error:
        return fail(f"{location}: {error}")


def cmd_copy(args: argparse.Namespace) -> int:
    source: Path | str = db_path(args)
    target: Path | str = args.to
    if _name(source) == _name(target):
        return fail("--from and --to name the same database")
    import psycopg

    from bot.storage.copy import copy_database

    try:
        checks = asyncio.run(copy_database(source, target))
    except (StorageError, SchemaError) as error:
        return fail(str(error))
    except (psycopg.Error, sqlite3.Error) as error:
        return fail(f"copy failed, the target is unchanged: {type(error).__name__}: {error}".splitlines()[0])
    rows = [
        [c.table, c.source_rows, c.target_rows, c.target_sha256[:16], "ok" if c.same else "DIFFERENT"]
        for c in checks
    ]
    print(f"{_name(source)} -> {_name(target)}")
    print(table(["TABLE", "SOURCE ROWS", "TARGET ROWS", "SHA-256 (first 16)", "CHECK"], rows))
    different = [c.table for c in checks if not c.same]
    if different:
        print(f"copy differs from the source in: {', '.join(different)}")
        return 1
    total = sum(c.target_rows for c in checks)
    print(f"copied {total} row(s) in {len(checks)} tables; counts and checksums match the source.")
    return 0
