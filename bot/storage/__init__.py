"""Persistence in one SQLite file (aiosqlite) or a PostgreSQL database (psycopg 3): the only layer that
speaks SQL. One API for both engines; what differs between them lives in :mod:`bot.storage.dialect`.

See ``docs/queue.md`` for the data model, the ticket lifecycle, the two engines and the durability
guarantees.
"""

from bot.storage.database import Database, Tx
from bot.storage.records import (
    DEFAULT_SLA,
    Customer,
    Event,
    InboundRow,
    Interrupted,
    OutboxItem,
    RecordedMessage,
    Resolution,
    SlaPolicy,
    StoredMessage,
    StoredUpdate,
    Ticket,
)
from bot.storage.transaction import StorageError, StorageUnavailable, is_retryable

__all__ = [
    "DEFAULT_SLA",
    "Customer",
    "Database",
    "Event",
    "InboundRow",
    "Interrupted",
    "OutboxItem",
    "RecordedMessage",
    "Resolution",
    "SlaPolicy",
    "StorageError",
    "StorageUnavailable",
    "StoredMessage",
    "StoredUpdate",
    "Ticket",
    "Tx",
    "is_retryable",
]
