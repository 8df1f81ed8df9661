"""Persistence in one SQLite file through aiosqlite: the only layer that speaks SQL.

See ``docs/queue.md`` for the data model, the ticket lifecycle and the durability guarantees.
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
from bot.storage.transaction import StorageError

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
    "StoredMessage",
    "StoredUpdate",
    "Ticket",
    "Tx",
]
