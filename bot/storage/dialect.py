"""Everything that differs between SQLite and PostgreSQL, in one place.

The query modules write one SQL text for both engines: ``?`` placeholders, ISO-8601 TEXT times, INTEGER 0/1
flags, JSON as TEXT parsed in Python, ``ON CONFLICT`` upserts and ``RETURNING``. What cannot be written the
same way is a :class:`Dialect` attribute or method, chosen once per :class:`~bot.storage.Database`:

* placeholders: psycopg wants ``%s`` (and therefore ``%%`` for a literal percent sign); translated once per
  SQL string and cached, so a hot query costs a dictionary look-up;
* the current time as the project's fixed-width UTC text, two-argument ``max``/``min``;
* the JSON functions of the statistics and of ``customer forget``;
* locks: ``pg_advisory_xact_lock`` and ``FOR UPDATE [SKIP LOCKED]`` on PostgreSQL, nothing on SQLite where
  ``BEGIN IMMEDIATE`` already serialises every writer;
* migrations: their folder, the fresh schema file, and where the version is kept (``PRAGMA user_version``
  in the SQLite file's header, a one-row ``schema_version`` table on PostgreSQL);
* the health check of ``db status`` and the clean-up after erasing personal data.

Another helper may add entries for its own needs below the marked line; keep them small.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Engine = Literal["sqlite", "postgresql"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgresql(location: object) -> bool:
    """Whether a ``BOT_DATABASE`` value names a PostgreSQL server rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """``?`` -> ``%s`` outside quoted literals and identifiers; a literal ``%`` becomes ``%%``.

    Cached per SQL string: the query modules build their SQL from constants, so the cache holds one entry
    per distinct statement (IN lists of different lengths are distinct statements, still few).
    """
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Dialect:
    name: Engine
    now: str
    """An SQL expression for the current UTC time in :func:`bot.storage.records.to_db_time`'s format."""
    greatest: str
    """The two-argument maximum: ``max(a, b)`` in SQLite, ``GREATEST(a, b)`` in PostgreSQL."""
    least: str
    for_update: str
    """Appended to a SELECT that reads rows it is about to change (a row lock; nothing on SQLite)."""
    skip_locked: str
    """Appended to a claim query: rows another transaction holds are skipped, not waited for."""
    migrations_folder: str
    fresh_schema: str

    def sql(self, text: str) -> str:
        """The SQL text as the driver wants it."""
        return text if self.name == "sqlite" else to_pyformat(text)

    def lock(self, kind: str, key: int) -> tuple[str, tuple[object, ...]] | None:
        """The statement taking the transaction-scoped lock ``(kind, key)``; None where none is needed.

        ``hashtext(kind)`` and the key reduced to 31 bits form the two-key advisory lock: ids beyond two
        billion share a lock with a smaller one, which serialises a little more, never less.
        """
        if self.name == "sqlite":
            return None
        return ("SELECT pg_advisory_xact_lock(hashtext(?), mod(?, 2147483647)::int)", (kind, int(key)))

    def answered_count(self, column: str) -> str:
        """How many intents the bot answered according to an analysis JSON text (0 if none or not JSON)."""
        if self.name == "sqlite":
            return (
                f"coalesce(json_array_length(CASE WHEN json_valid({column}) THEN {column} END,"
                " '$.answered'), 0)"
            )
        # The CHECK constraints keep every stored analysis valid JSON, so the cast cannot fail.
        return (
            f"CASE WHEN json_typeof({column}::json -> 'answered') = 'array'"
            f" THEN json_array_length({column}::json -> 'answered') ELSE 0 END"
        )

    def forget_analysis(self, column: str) -> str:
        """The analysis reduced to what is not personal: ``{"outcome": …, "answered": […]}`` or NULL."""
        if self.name == "sqlite":
            return (
                f"CASE WHEN json_valid({column}) AND json_extract({column}, '$.outcome') IS NOT NULL"
                f"  THEN json_object('outcome', json_extract({column}, '$.outcome'),"
                f"   'answered', json(coalesce(json_extract({column}, '$.answered'), '[]'))) END"
            )
        return (
            f"CASE WHEN coalesce(json_typeof({column}::json -> 'outcome'), 'null') <> 'null'"
            f" THEN json_build_object('outcome', {column}::json -> 'outcome',"
            f"  'answered', coalesce({column}::json -> 'answered', '[]'::json))::text END"
        )


SQLITE = Dialect(
    name="sqlite",
    now="strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')",
    greatest="max",
    least="min",
    for_update="",
    skip_locked="",
    migrations_folder="migrations/sqlite",
    fresh_schema="schema.sql",
)

POSTGRESQL = Dialect(
    name="postgresql",
    now="""to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
    greatest="GREATEST",
    least="LEAST",
    for_update=" FOR UPDATE",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    migrations_folder="migrations/postgresql",
    fresh_schema="schema.postgresql.sql",
)


def dialect(engine: Engine) -> Dialect:
    return SQLITE if engine == "sqlite" else POSTGRESQL


# --- PostgreSQL-only statements (no SQLite counterpart) ------------------------------------------------

MIGRATION_LOCK = 0x6361_7265  # "care": the advisory lock replicas starting together serialise on
SCHEMA_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

POSTGRESQL_HEALTH = (
    "SELECT (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    "  JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready)) AS bad_indexes,"
    " (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace"
    "  WHERE n.nspname = current_schema() AND NOT k.convalidated) AS unvalidated"
)
"""``db status``'s health check: indexes a failed ``CREATE INDEX CONCURRENTLY`` left invalid, and constraints
added ``NOT VALID`` and never checked. (PostgreSQL checks pages itself; ``amcheck`` is an extension.)"""

ERASED_TABLES = (
    "customers",
    "messages",
    "conversations",
    "message_links",
    "inbound_updates",
    "tickets",
    "outbox",
    "staff_posts",
)
"""Tables ``customer forget`` rewrites: VACUUMed afterwards on PostgreSQL so the old row versions holding
the erased values are removed from the table files instead of waiting for autovacuum."""

# --- entries added by other modules (coordination, gauges) go below this line ---------------------------
