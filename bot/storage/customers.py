"""Customers and their conversation state."""

from __future__ import annotations

from bot.storage.records import (
    Customer,
)
from bot.storage.rows import (
    customer_from_row,
)
from bot.storage.transaction import TxBase


class CustomerQueries(TxBase):
    # --- customers and conversation state --------------------------------------------------------------

    async def upsert_customer(
        self, channel: str, external_id: str, display_name: str, language: str | None
    ) -> Customer:
        """Find or create the customer; refreshes the display name, keeps a known language unless given."""
        row = await self.fetch_one(
            "INSERT INTO customers (channel, external_id, display_name, language, created_at)"
            f" VALUES (?, ?, ?, ?, {self.dialect.now})"
            " ON CONFLICT (channel, external_id) DO UPDATE SET"
            "  display_name = CASE WHEN excluded.display_name <> '' THEN excluded.display_name"
            "                      ELSE customers.display_name END,"
            "  language = coalesce(excluded.language, customers.language)"
            " RETURNING *",
            (channel, str(external_id), display_name or "", language),
        )
        assert row is not None
        return customer_from_row(row)

    async def customer_by_external(self, channel: str, external_id: str) -> Customer | None:
        row = await self.fetch_one(
            "SELECT * FROM customers WHERE channel = ? AND external_id = ?", (channel, str(external_id))
        )
        return None if row is None else customer_from_row(row)

    async def set_customer_language(self, customer_id: int, language: str) -> None:
        await self.execute("UPDATE customers SET language = ? WHERE id = ?", (language, customer_id))

    async def set_blocked(self, customer_id: int, blocked: bool) -> bool:
        """Returns False when the customer does not exist."""
        changed = await self.execute(
            "UPDATE customers SET blocked = ? WHERE id = ?", (1 if blocked else 0, customer_id)
        )
        return changed > 0

    async def load_conversation(self, customer_id: int) -> str | None:
        row = await self.fetch_one("SELECT state FROM conversations WHERE customer_id = ?", (customer_id,))
        return None if row is None else str(row["state"])

    async def save_conversation(self, customer_id: int, state_json: str) -> None:
        await self.execute(
            "INSERT INTO conversations (customer_id, state, updated_at)"
            f" VALUES (?, ?, {self.dialect.now})"
            " ON CONFLICT (customer_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (customer_id, state_json),
        )
