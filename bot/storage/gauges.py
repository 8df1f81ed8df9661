"""The figures a metrics scrape reads from the shared database: outbox depth and age, open tickets, a ping.

Portable SQL only (``?`` placeholders, ``count``/``min``/``GROUP BY``): the same statements run on SQLite
and on PostgreSQL. Times are ISO-8601 TEXT (:func:`~bot.storage.records.to_db_time`), whose fixed width
makes ``min`` the earliest; the age is computed in Python, not with an engine's date functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Database
from bot.storage.records import from_db_time


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    """One channel's outbox: rows waiting, rows parked as failed, when the oldest waiting row was queued."""

    channel: str
    pending: int
    failed: int
    oldest_pending: datetime | None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    outbox: tuple[OutboxFigures, ...]
    tickets: dict[tuple[str, str], int]
    """``(priority, status)`` → tickets not resolved; combinations without tickets are absent."""


async def queue_figures(db: Database) -> QueueFigures:
    """Both in one read-only snapshot: two indexed aggregates, cheap enough for a scrape every 15 s.

    Failed rows are counted here too (they never leave the table): parked replies nobody received.
    """
    async with db.snapshot() as tx:
        outbox_rows = await tx.fetch_all(
            "SELECT channel, status, count(*) AS n, min(created_at) AS oldest FROM outbox"
            " WHERE status IN (?, ?) GROUP BY channel, status",
            ("pending", "failed"),
        )
        ticket_rows = await tx.fetch_all(
            "SELECT priority, status, count(*) AS n FROM tickets WHERE status <> ? GROUP BY priority, status",
            ("resolved",),
        )
    pending: dict[str, int] = {}
    failed: dict[str, int] = {}
    oldest: dict[str, datetime] = {}
    for row in outbox_rows:
        channel = str(row["channel"])
        if row["status"] == "pending":
            pending[channel] = int(row["n"])
            if row["oldest"] is not None:
                oldest[channel] = from_db_time(str(row["oldest"]))
        else:
            failed[channel] = int(row["n"])
    outbox = tuple(
        OutboxFigures(name, pending.get(name, 0), failed.get(name, 0), oldest.get(name))
        for name in sorted(pending.keys() | failed.keys())
    )
    tickets = {(str(row["priority"]), str(row["status"])): int(row["n"]) for row in ticket_rows}
    return QueueFigures(outbox=outbox, tickets=tickets)


async def ping(db: Database) -> None:
    """The cheapest round trip that proves the database answers (``/readyz``); raises when it does not."""
    async with db.snapshot() as tx:
        await tx.fetch_one("SELECT 1")
