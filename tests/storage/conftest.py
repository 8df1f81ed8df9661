"""Real databases on both engines (a SQLite file in ``tmp_path``, the test PostgreSQL server; see
tests/conftest.py); every database opened here is closed again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.storage import Customer, Database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def customer(db: Database) -> Customer:
    return await db.upsert_customer("terminal", "u1", "Kim Berger", "de")
