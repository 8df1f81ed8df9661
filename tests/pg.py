"""The test PostgreSQL server: throw-away databases with unique names (``BOT_TEST_POSTGRES_URL`` overrides).

The machines run PostgreSQL on 127.0.0.1:5432 with trust authentication for ``postgres``; README says how to
start one locally with Debian's ``postgresql`` package. Tests never skip when it is missing: a suite that
passes because half of it did not run proves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """A URL of the server's maintenance database, where databases are created and dropped."""
    return os.environ.get("BOT_TEST_POSTGRES_URL") or DEFAULT_URL


def url_of(database: str) -> str:
    parts = conninfo_to_dict(admin_url())
    parts["dbname"] = database
    user = parts.get("user", "postgres")
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", 5432)
    password = f":{parts['password']}" if parts.get("password") else ""
    assert make_conninfo(**parts)
    return f"postgresql://{user}{password}@{host}:{port}/{database}"


def create_database(prefix: str = "carebot_test") -> str:
    """A new empty database with a unique name; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_of(name)


def drop_database(url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(prefix: str = "carebot_test") -> Iterator[str]:
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)


_RESET: dict[str, str] = {}


def empty_tables(url: str) -> None:
    """Every table of the schema emptied and its ids restarted at 1, the schema version kept.

    ``DELETE`` children before parents plus ``setval`` in one round trip: about ten times faster than
    ``TRUNCATE … RESTART IDENTITY`` on a schema of twenty small tables, which matters once per test.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        script = _RESET.get(url)
        if script is None:
            script = _RESET[url] = _reset_script(conn)
        conn.execute(script)


def _reset_script(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    tables = [
        str(row[0])
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_version'"
            " ORDER BY tablename"
        )
    ]
    parents: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in conn.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()"
    ):
        if child in parents and child != parent:
            parents[str(child)].add(str(parent))
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and parents[t] <= set(ordered)]
        assert ready, f"foreign-key cycle among {set(tables) - set(ordered)}"
        ordered.extend(ready)
    sequences = [
        str(row[0])
        for row in conn.execute(
            "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
    ]
    statements = [f"DELETE FROM {table}" for table in reversed(ordered)]
    statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
    return "BEGIN; " + "; ".join(statements) + "; COMMIT"
