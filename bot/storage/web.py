"""What the web channel reads and keeps: numbered conversations and the visitor-token secret.

Numbering happens in SQL (the trigger ``message_seq_number``, see ``schema.sql``): every message a customer
can see gets the next number of their conversation in the transaction that stores it. Here the web channel
reads a conversation from a number on, which is all a reconnecting widget needs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.core.model import Author
from bot.messages import Button
from bot.storage.database import Tx
from bot.storage.records import buttons_from_json, from_db_time, to_db_time

REPLAY_LIMIT = 200
"""Messages per read: a visitor away for months gets the rest on the next read, never one huge frame."""


@dataclass(frozen=True, slots=True)
class NumberedMessage:
    """One visible message of a conversation, with its number in that conversation."""

    seq: int
    message_id: int
    author: Author
    agent: str | None
    text: str
    buttons: tuple[Button, ...]
    client_id: str | None
    """For a customer's message: the id the client gave it (its de-duplication key)."""
    ticket_id: int | None
    created_at: datetime


async def messages_after(
    tx: Tx, customer_id: int, after: int, *, limit: int = REPLAY_LIMIT
) -> list[NumberedMessage]:
    """The customer's visible messages numbered above ``after``, in order (at most ``limit``)."""
    rows = await tx.fetch_all(
        "SELECT s.seq, m.id, m.author, m.agent, m.text, m.buttons, m.channel_message_id, m.ticket_id,"
        " m.created_at FROM message_seq s JOIN messages m ON m.id = s.message_id"
        " WHERE s.customer_id = ? AND s.seq > ? ORDER BY s.seq LIMIT ?",
        (customer_id, max(0, int(after)), limit),
    )
    return [
        NumberedMessage(
            seq=int(row["seq"]),
            message_id=int(row["id"]),
            author=Author(row["author"]),
            agent=row["agent"],
            text=str(row["text"]),
            buttons=buttons_from_json(row["buttons"]),
            client_id=row["channel_message_id"] if row["author"] == Author.CUSTOMER.value else None,
            ticket_id=row["ticket_id"],
            created_at=from_db_time(row["created_at"]),
        )
        for row in rows
    ]


async def message_seq(tx: Tx, message_id: int) -> int | None:
    row = await tx.fetch_one("SELECT seq FROM message_seq WHERE message_id = ?", (message_id,))
    return None if row is None else int(row["seq"])


async def last_seq(tx: Tx, customer_id: int) -> int:
    row = await tx.fetch_one("SELECT max(seq) AS seq FROM message_seq WHERE customer_id = ?", (customer_id,))
    return 0 if row is None or row["seq"] is None else int(row["seq"])


async def offered_payloads(tx: Tx, customer_id: int, *, recent: int = 10) -> set[str]:
    """Button payloads of the last ``recent`` messages the bot or an agent sent this customer.

    A web client can send any payload it likes; only a button the bot really offered is honoured (a forged
    ``rate:<someone else's ticket>:1`` is not).
    """
    rows = await tx.fetch_all(
        "SELECT buttons FROM messages WHERE customer_id = ? AND author <> 'customer' AND private = 0"
        " ORDER BY id DESC LIMIT ?",
        (customer_id, recent),
    )
    return {button.payload for row in rows for button in buttons_from_json(row["buttons"])}


async def web_key(tx: Tx, name: str, now: datetime) -> str:
    """The secret called ``name``, generated on first use; every process sharing the file gets the same one.

    ``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT`` inside one ``BEGIN IMMEDIATE``: two processes starting
    together serialise on the write lock, and the second reads the first one's key.
    """
    await tx.execute(
        "INSERT INTO web_keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        (name, secrets.token_hex(32), to_db_time(now)),
    )
    row = await tx.fetch_one("SELECT value FROM web_keys WHERE name = ?", (name,))
    assert row is not None
    return str(row["value"])
