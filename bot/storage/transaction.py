"""The plumbing of one open transaction, shared by every group of queries (customers, tickets, outbox…)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from bot.core.model import Priority
from bot.storage.records import (
    Customer,
    SlaPolicy,
    Ticket,
)
from bot.storage.rows import customer_from_row, ticket_from_row


class StorageError(RuntimeError):
    """A request the data does not allow (unknown ticket, wrong state); the message is for people."""


class TxBase:
    """One open transaction: the SQL plumbing and the lookups every group of queries needs."""

    def __init__(self, conn: aiosqlite.Connection, sla: Mapping[Priority, SlaPolicy]) -> None:
        self._conn = conn
        self._sla = sla
        self._open = True

    skip_locked = ""
    """`` FOR UPDATE SKIP LOCKED`` on PostgreSQL; nothing on SQLite, where one writer runs at a time."""

    # --- plumbing, public for the storage package's report modules -------------------------------------

    def _check(self) -> None:
        if not self._open:
            raise StorageError("transaction already finished")

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
        return row

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            rows: Iterable[sqlite3.Row] = await cursor.fetchall()
        return list(rows)

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; returns the row count (or the new row id for an INSERT)."""
        self._check()
        async with self._conn.execute(sql, params) as cursor:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)

    async def customer(self, customer_id: int) -> Customer | None:
        row = await self.fetch_one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return None if row is None else customer_from_row(row)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        row = await self.fetch_one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else ticket_from_row(row)

    async def require_ticket(self, ticket_id: int) -> Ticket:
        ticket = await self.ticket(ticket_id)
        if ticket is None:
            raise StorageError(f"no ticket #{ticket_id}")
        return ticket
