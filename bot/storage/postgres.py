"""PostgreSQL through psycopg 3: connections, the pool, rows, and turning driver failures into ours.

Why psycopg 3 (and not asyncpg): it is async-native and also speaks LISTEN/NOTIFY and COPY, its parameter
adaptation is lenient (a Python ``str`` is sent untyped and the server casts it, so the SQL text written for
SQLite runs unchanged once ``?`` became ``%s``), its pool (psycopg-pool) reconnects in the background with
backoff, and it follows the DB-API that ``sqlite3`` follows, so the two engines share one ``Tx`` API.
asyncpg is faster per call but needs ``$1`` placeholders, typed parameters and its own row type.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.storage import transaction
from bot.storage.transaction import StorageUnavailable

CONNECT_TIMEOUT_S = 10
"""How long one connection attempt may take before the server counts as unreachable."""

POOL_TIMEOUT_S = 30.0
"""How long a transaction waits for a free pooled connection (or for the server to come back)."""


class PgRow:
    """A PostgreSQL row that behaves like ``sqlite3.Row``: by name, by position, ``dict(row)``, ``tuple(row)``."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: list[str], index: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str, /) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PgRow):
            return NotImplemented
        return (self._names, tuple(self._values)) == (other._names, tuple(other._values))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=True))!r})"


def row_factory(cursor: Any) -> Any:
    """psycopg row factory making :class:`PgRow` (the first of duplicate column names wins, as in SQLite)."""
    description = cursor.description
    names = [column.name for column in description] if description else []
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name, position)

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(names, index, values)

    return make


def describe(url: str) -> str:
    """``postgresql://host:port/database`` without user or password: what error messages may show."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or 5432)
    return f"postgresql://{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def reason(error: BaseException, url: str) -> str:
    """The driver's first line, with the password cut out should the driver ever quote it (as part of a
    URL or a ``password=`` setting; the bare word is not searched for, it may be one letter)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    password = conninfo_to_dict(url).get("password") if url else None
    if password:
        text = text.replace(f":{password}@", ":***@")
    return re.sub(r"password=\S+", "password=***", text)


def is_disconnect(error: BaseException, conn: psycopg.AsyncConnection[Any] | None = None) -> bool:
    """The server or the network went away (as opposed to a query the server refused)."""
    if is_retryable(error):
        return False  # serialization failure / deadlock: retried, the connection is fine
    if isinstance(error, PoolTimeout | psycopg.errors.AdminShutdown | psycopg.errors.CannotConnectNow):
        return True
    if isinstance(error, psycopg.OperationalError):
        return conn is None or conn.closed or conn.broken
    return False


def is_retryable(error: BaseException) -> bool:
    """See :func:`bot.storage.transaction.is_retryable`."""
    return transaction.is_retryable(error)


async def run(
    conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[object]
) -> psycopg.AsyncCursor[Any]:
    """Execute on ``conn``; a lost connection becomes :class:`StorageUnavailable`."""
    try:
        return await conn.execute(sql, params)
    except psycopg.Error as error:
        if is_disconnect(error, conn):
            raise StorageUnavailable(f"the PostgreSQL server went away: {reason(error, '')}") from error
        raise


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    """One autocommit connection with our row type; a failure is one :class:`StorageUnavailable` line."""
    try:
        conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
            url, autocommit=True, row_factory=row_factory, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.Error as error:
        raise StorageUnavailable(f"cannot connect to {describe(url)}: {reason(error, url)}") from error
    return conn


async def open_pool(url: str, size: int) -> AsyncConnectionPool[Any]:
    """A pool of up to ``size`` connections, one opened at once; it reconnects in the background (with
    exponential backoff) after the server restarts, and connections broken meanwhile are discarded when
    they come back to it."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max(1, size),
        open=False,
        kwargs={"autocommit": True, "row_factory": row_factory, "connect_timeout": CONNECT_TIMEOUT_S},
        timeout=POOL_TIMEOUT_S,
        name=describe(url),
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except (PoolTimeout, psycopg.Error) as error:
        await pool.close()
        raise StorageUnavailable(f"cannot connect to {describe(url)}: {reason(error, url)}") from error
    return pool


async def discard(pool: AsyncConnectionPool[Any], conn: psycopg.AsyncConnection[Any]) -> None:
    """Give a connection back to the pool in a state fit for the next transaction.

    Runs shielded from the caller's cancellation (see ``Database``): rolled back if a transaction is still
    open, closed (and replaced by the pool) if a statement was still running or the link is broken.
    """
    status = conn.info.transaction_status
    if not conn.closed and status in (
        psycopg.pq.TransactionStatus.INTRANS,
        psycopg.pq.TransactionStatus.INERROR,
    ):
        try:
            await conn.execute("ROLLBACK")
        except psycopg.Error:
            await conn.close()
    elif status is psycopg.pq.TransactionStatus.ACTIVE:
        await conn.close()  # a statement is in flight: the connection is not reusable
    await pool.putconn(conn)


def release(pool: AsyncConnectionPool[Any], conn: psycopg.AsyncConnection[Any]) -> asyncio.Future[None]:
    """:func:`discard` in a task of its own, so that cancelling the caller cannot interrupt it."""
    return asyncio.ensure_future(discard(pool, conn))
