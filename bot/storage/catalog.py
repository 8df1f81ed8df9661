"""What a database's schema looks like, asked of either engine: tables in foreign-key order, columns, the
schema version. Used by ``db status`` and ``db copy``; the bot itself never needs to ask."""

from __future__ import annotations

from bot.storage.database import Tx
from bot.storage.transaction import StorageError


async def tables(tx: Tx) -> list[str]:
    """The schema's tables (not the version bookkeeping), parents before children."""
    if tx.engine == "sqlite":
        names = [
            str(row[0])
            for row in await tx.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        parents = {
            name: {str(row["table"]) for row in await tx.fetch_all(f"PRAGMA foreign_key_list({name})")}
            for name in names
        }
    else:
        names = [
            str(row[0])
            for row in await tx.fetch_all(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'schema_version' ORDER BY tablename"
            )
        ]
        parents = {name: set() for name in names}
        for row in await tx.fetch_all(
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = current_schema()"
        ):
            if str(row["child"]) in parents:
                parents[str(row["child"])].add(str(row["parent"]))
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] - {n} <= set(ordered)]
        if not ready:
            raise StorageError(f"foreign keys form a cycle among {sorted(set(names) - set(ordered))}")
        ordered.extend(ready)
    return ordered


async def columns(tx: Tx, table: str) -> tuple[list[str], list[str]]:
    """``(stored columns, primary-key columns)``; generated columns are left out (the target computes them)."""
    if tx.engine == "sqlite":
        rows = await tx.fetch_all(f"PRAGMA table_xinfo({table})")
        stored = [str(r["name"]) for r in rows if int(r["hidden"]) == 0]
        key = [str(r["name"]) for r in sorted(rows, key=lambda r: int(r["pk"])) if int(r["pk"]) > 0]
        return stored, key
    rows = await tx.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (table,),
    )
    key_rows = await tx.fetch_all(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary"
        " ORDER BY array_position(i.indkey, a.attnum)",
        (table,),
    )
    return [str(r[0]) for r in rows], [str(r[0]) for r in key_rows]


async def schema_version(tx: Tx) -> int:
    if tx.engine == "sqlite":
        row = await tx.fetch_one("PRAGMA user_version")
        return int(row[0]) if row else 0
    row = await tx.fetch_one("SELECT to_regclass('schema_version') IS NOT NULL")
    if not row or not row[0]:
        return 0
    row = await tx.fetch_one("SELECT max(version) FROM schema_version")
    return int(row[0]) if row and row[0] is not None else 0


async def existing_tables(tx: Tx) -> set[str]:
    """The tables present, without ordering them (cheap; for ``db status`` on an old schema)."""
    if tx.engine == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return {str(row[0]) for row in await tx.fetch_all(sql)}
