"""The plumbing of one open transaction, shared by every group of queries (customers, tickets, outbox…).

One API for both engines: ``fetch_one``/``fetch_all``/``execute`` take ``?`` placeholders and return rows
that answer ``row["column"]`` and ``row[0]`` (``sqlite3.Row`` on SQLite, ``postgres.PgRow`` on PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.core.model import Priority
from bot.storage.dialect import Dialect, Engine
from bot.storage.records import (
    Customer,
    SlaPolicy,
    Ticket,
)
from bot.storage.rows import Row, customer_from_row, ticket_from_row

if TYPE_CHECKING:
    import psycopg


def marks(values: Sized) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (...)`` lists and ``VALUES (...)`` rows."""
    return ", ".join("?" * len(values))


class StorageError(RuntimeError):
    """A request the data does not allow (unknown ticket, wrong state); the message is for people."""


class StorageUnavailable(StorageError):
    """The database cannot be reached (server down, network gone, connections exhausted).

    Nothing of the failed transaction was committed; callers' loops back off and try again.
    """


def is_retryable(error: BaseException) -> bool:
    """A serialization failure or a deadlock (SQLSTATE class 40, PostgreSQL): the transaction was rolled
    back and may simply run again. Never true on SQLite, where one writer at a time cannot collide.

    By SQLSTATE because psycopg's ``DeadlockDetected`` is not a subclass of its ``TransactionRollback``."""
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and state.startswith("40")


class TxBase:
    """One open transaction: the SQL plumbing and the lookups every group of queries needs."""

    def __init__(
        self,
        conn: aiosqlite.Connection | psycopg.AsyncConnection[Any],
        sla: Mapping[Priority, SlaPolicy],
        dialect: Dialect,
    ) -> None:
        self._conn = conn
        self._sla = sla
        self.dialect = dialect
        self._open = True

    @property
    def engine(self) -> Engine:
        return self.dialect.name

    @property
    def skip_locked(self) -> str:
        """``" FOR UPDATE SKIP LOCKED"`` on PostgreSQL, ``""`` on SQLite: append to a claim query."""
        return self.dialect.skip_locked

    # --- plumbing, public for the storage package's report modules -------------------------------------

    def _check(self) -> None:
        if not self._open:
            raise StorageError("transaction already finished")

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        self._check()
        if isinstance(self._conn, aiosqlite.Connection):
            async with self._conn.execute(sql, params) as cursor:
                row: sqlite3.Row | None = await cursor.fetchone()
            return row
        result = await self._pg(sql, params)
        found: Row | None = await result.fetchone() if result.description else None
        return found

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._check()
        if isinstance(self._conn, aiosqlite.Connection):
            async with self._conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())
        result = await self._pg(sql, params)
        return list(await result.fetchall())

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; returns the number of rows it changed. (A new row's id: ``INSERT … RETURNING
        id`` with :meth:`fetch_one`.)"""
        self._check()
        if isinstance(self._conn, aiosqlite.Connection):
            async with self._conn.execute(sql, params) as cursor:
                return int(cursor.rowcount)
        result = await self._pg(sql, params)
        return int(result.rowcount)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """One statement for many parameter rows (bulk copies; psycopg pipelines them)."""
        self._check()
        if isinstance(self._conn, aiosqlite.Connection):
            await self._conn.executemany(sql, rows)
            return
        async with self._conn.cursor() as cursor:
            await cursor.executemany(self.dialect.sql(sql), rows)

    async def insert(self, sql: str, params: Sequence[object] = ()) -> int:
        """``INSERT … RETURNING id`` and return the id (``sql`` without the RETURNING clause)."""
        row = await self.fetch_one(sql + " RETURNING id", params)
        assert row is not None
        return int(row[0])

    async def _pg(self, sql: str, params: Sequence[object]) -> psycopg.AsyncCursor[Any]:
        from bot.storage.postgres import run

        assert not isinstance(self._conn, aiosqlite.Connection)
        return await run(self._conn, self.dialect.sql(sql), params)

    async def lock(self, kind: str, key: int) -> None:
        """Serialise every transaction that locks the same ``(kind, key)`` until it ends, across processes.

        PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, ``BEGIN IMMEDIATE`` already
        lets one writer at a time in. Lock order: customer before ticket (a staff action on a ticket locks
        its customer first, see :meth:`lock_ticket`), so two transactions never wait for each other.
        """
        statement = self.dialect.lock(kind, key)
        if statement is not None:
            await self.fetch_one(*statement)

    async def customer(self, customer_id: int) -> Customer | None:
        row = await self.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return None if row is None else customer_from_row(row)

    async def ticket(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """``for_update`` locks the row on PostgreSQL until the transaction ends (a claim's read-then-write:
        the row lock alone, so that ``claim_next``'s ``SKIP LOCKED`` pick never waits for a customer lock)."""
        row = await self.fetch_one(
            "SELECT * FROM tickets WHERE id = ?" + (self.dialect.for_update if for_update else ""),
            (ticket_id,),
        )
        return None if row is None else ticket_from_row(row)

    async def lock_ticket(self, ticket_id: int) -> Ticket | None:
        """Lock the ticket's customer, then the ticket, and read it afresh: for read-then-write actions.

        Under PostgreSQL's READ COMMITTED a ticket read without a lock may be changed by another replica
        before this transaction writes; with both locks held, every staff action and every turn of that
        customer waits for this one. The customer lock comes first because a turn holds it while it
        touches the customer's tickets.
        """
        if self.engine == "sqlite":
            return await self.ticket(ticket_id)
        row = await self.fetch_one("SELECT customer_id FROM tickets WHERE id = ?", (ticket_id,))
        if row is None:
            return None
        await self.lock("customer", int(row["customer_id"]))
        await self.lock("ticket", ticket_id)
        return await self.ticket(ticket_id)

    async def require_ticket(self, ticket_id: int) -> Ticket:
        ticket = await self.ticket(ticket_id)
        if ticket is None:
            raise StorageError(f"no ticket #{ticket_id}")
        return ticket
