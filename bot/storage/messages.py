"""Messages: what customers wrote and what was answered, and which turns are still to be handled."""

from __future__ import annotations

from datetime import datetime

from bot.storage.records import (
    InboundRow,
    RecordedMessage,
    StoredMessage,
    from_db_time,
    to_db_time,
)
from bot.storage.rows import (
    customer_from_row,
    message_from_row,
)
from bot.storage.transaction import TxBase


class MessageQueries(TxBase):
    # --- messages -----------------------------------------------------------------------------------------

    async def record_inbound(
        self,
        customer_id: int,
        *,
        text: str,
        attachment: str | None,
        payload: str | None,
        channel_message_id: str | None,
        received_at: datetime,
    ) -> RecordedMessage:
        """Store a customer's message; a redelivered one (same channel message id) is reported, not stored.

        The unique index ``messages_inbound_dedup`` decides, not a read before the write: two replicas
        storing the same redelivered message at once get one row, and the second learns it is a duplicate.
        """
        row = await self.fetch_one(
            "INSERT INTO messages (customer_id, author, text, attachment, payload, channel_message_id,"
            " created_at) VALUES (?, 'customer', ?, ?, ?, ?, ?)"
            " ON CONFLICT (customer_id, channel_message_id)"
            " WHERE author = 'customer' AND channel_message_id IS NOT NULL DO NOTHING RETURNING id",
            (
                customer_id,
                text,
                attachment,
                payload,
                None if channel_message_id is None else str(channel_message_id),
                to_db_time(received_at),
            ),
        )
        if row is not None:
            return RecordedMessage(int(row["id"]), duplicate=False)
        existing = await self.fetch_one(
            "SELECT id FROM messages WHERE customer_id = ? AND channel_message_id = ? AND author = 'customer'",
            (customer_id, str(channel_message_id)),
        )
        assert existing is not None
        return RecordedMessage(int(existing["id"]), duplicate=True)

    async def mark_handled(
        self, message_id: int, *, analysis_json: str | None, ticket_id: int | None
    ) -> None:
        """The engine is done with this customer message: it will not be re-handled after a restart."""
        await self.execute(
            f"UPDATE messages SET handled_at = {self.dialect.now},"
            " analysis = coalesce(?, analysis), ticket_id = coalesce(?, ticket_id) WHERE id = ?",
            (analysis_json, ticket_id, message_id),
        )

    async def unhandled_inbound(self, limit: int = 100) -> list[InboundRow]:
        rows = await self.fetch_all(
            "SELECT m.id AS message_id, m.text, m.attachment, m.payload, m.channel_message_id,"
            " m.created_at AS received_at, c.*"
            " FROM messages m JOIN customers c ON c.id = m.customer_id"
            " WHERE m.author = 'customer' AND m.handled_at IS NULL ORDER BY m.id LIMIT ?",
            (limit,),
        )
        return [
            InboundRow(
                id=row["message_id"],
                customer=customer_from_row(row),
                text=row["text"],
                attachment=row["attachment"],
                payload=row["payload"],
                channel_message_id=row["channel_message_id"],
                received_at=from_db_time(row["received_at"]),
            )
            for row in rows
        ]

    async def recent_customer_texts(self, customer_id: int, limit: int = 5) -> list[str]:
        rows = await self.fetch_all(
            "SELECT text FROM messages WHERE customer_id = ? AND author = 'customer' ORDER BY id DESC LIMIT ?",
            (customer_id, limit),
        )
        return [str(row["text"]) for row in reversed(rows)]

    async def message(self, message_id: int) -> StoredMessage | None:
        row = await self.fetch_one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return None if row is None else message_from_row(row)

    async def ticket_messages(self, ticket_id: int, *, context: int = 10) -> list[StoredMessage]:
        """Everything the customer and the ticket saw, preceded by up to ``context`` earlier messages.

        The ticket's span runs from its first message (or its creation) to its resolution (or now). In
        it come all of the customer's messages that belong to no other ticket — also the bot's, such as
        the hand-over acknowledgement, even where they carry no ticket id — besides the ticket's own
        (notes included). The earlier ones are what the bot tried before handing over, which staff want
        to see first.
        """
        ticket = await self.ticket(ticket_id)
        if ticket is None:
            return []
        first_row = await self.fetch_one(
            "SELECT min(id) AS id FROM messages WHERE ticket_id = ?", (ticket_id,)
        )
        first = None if first_row is None or first_row["id"] is None else int(first_row["id"])
        start_sql, start = (
            ("id >= ?", first)
            if first is not None
            else (
                "created_at >= ?",
                to_db_time(ticket.created_at),
            )
        )
        span_sql = (
            "SELECT * FROM messages WHERE ticket_id = ? OR (customer_id = ? AND ticket_id IS NULL"
            f" AND {start_sql}"
        )
        params: list[object] = [ticket_id, ticket.customer_id, start]
        if ticket.resolved_at is not None:
            span_sql += " AND created_at <= ?"
            params.append(to_db_time(ticket.resolved_at))
        rows = await self.fetch_all(span_sql + ") ORDER BY id", params)
        before_sql = "SELECT * FROM messages WHERE customer_id = ? AND ticket_id IS NULL AND " + (
            "id < ?" if first is not None else "created_at < ?"
        )
        before = await self.fetch_all(
            before_sql + " ORDER BY id DESC LIMIT ?", (ticket.customer_id, start, context)
        )
        return [message_from_row(row) for row in [*reversed(before), *rows]]
