"""Staff-channel bookkeeping: which topic belongs to which ticket, and the copies posted there."""

from __future__ import annotations

from datetime import datetime

from bot.storage.records import (
    StoredMessage,
    Ticket,
    to_db_time,
)
from bot.storage.rows import (
    message_from_row,
    ticket_from_row,
)
from bot.storage.transaction import TxBase


class ThreadQueries(TxBase):
    # --- staff-channel bookkeeping ---------------------------------------------------------------------

    async def set_ticket_thread(self, ticket_id: int, channel: str, thread_id: str | int) -> None:
        await self.execute(
            "INSERT INTO ticket_threads (ticket_id, channel, thread_id, created_at)"
            f" VALUES (?, ?, ?, {self.dialect.now})"
            " ON CONFLICT (ticket_id, channel) DO UPDATE SET thread_id = excluded.thread_id",
            (ticket_id, channel, str(thread_id)),
        )

    async def ticket_thread(self, ticket_id: int, channel: str) -> str | None:
        row = await self.fetch_one(
            "SELECT thread_id FROM ticket_threads WHERE ticket_id = ? AND channel = ?", (ticket_id, channel)
        )
        return None if row is None else str(row["thread_id"])

    async def ticket_by_thread(self, channel: str, thread_id: str | int) -> Ticket | None:
        row = await self.fetch_one(
            "SELECT t.* FROM ticket_threads h JOIN tickets t ON t.id = h.ticket_id"
            " WHERE h.channel = ? AND h.thread_id = ?",
            (channel, str(thread_id)),
        )
        return None if row is None else ticket_from_row(row)

    async def link_messages(
        self, message_id: int, channel: str, external_chat_id: str | int, external_message_id: str | int
    ) -> None:
        await self.execute(
            "INSERT INTO message_links (channel, external_chat_id, external_message_id, message_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (channel, external_chat_id, external_message_id)"
            " DO UPDATE SET message_id = excluded.message_id",
            (channel, str(external_chat_id), str(external_message_id), message_id),
        )

    async def record_staff_post(
        self,
        ticket_id: int,
        channel: str,
        chat_id: str | int,
        message_id: str | int,
        kind: str,
        now: datetime,
    ) -> None:
        """A message the bot posted into a staff channel about ``ticket_id`` (``card``, ``post``, ``copy``):
        remembered so that forgetting the customer can delete it there."""
        await self.execute(
            "INSERT INTO staff_posts (channel, chat_id, message_id, ticket_id, kind, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, str(chat_id), str(message_id), ticket_id, kind, to_db_time(now)),
        )

    async def linked_copy_of_delivered(
        self, channel: str, external_id: str, delivered_message_id: str | int, link_channel: str
    ) -> str | None:
        """Where a message the bot delivered to a customer was written: the id of its linked copy in
        ``link_channel`` (a staff reply's message in its ticket topic), found through storage alone.

        ``delivered_message_id`` is the id the customer's channel gave the delivered copy
        (``messages.channel_message_id``). Lets a customer's reply to an old staff answer thread under the
        staff member's message even after a restart."""
        row = await self.fetch_one(
            "SELECT l.external_message_id FROM customers c"
            " JOIN messages m ON m.customer_id = c.id"
            " JOIN message_links l ON l.message_id = m.id AND l.channel = ?"
            " WHERE c.channel = ? AND c.external_id = ? AND m.channel_message_id = ? AND m.author != 'customer'"
            " ORDER BY m.id DESC LIMIT 1",
            (link_channel, channel, str(external_id), str(delivered_message_id)),
        )
        return None if row is None else str(row["external_message_id"])

    async def message_by_external(
        self, channel: str, external_chat_id: str | int, external_message_id: str | int
    ) -> StoredMessage | None:
        row = await self.fetch_one(
            "SELECT m.* FROM message_links l JOIN messages m ON m.id = l.message_id"
            " WHERE l.channel = ? AND l.external_chat_id = ? AND l.external_message_id = ?",
            (channel, str(external_chat_id), str(external_message_id)),
        )
        return None if row is None else message_from_row(row)
