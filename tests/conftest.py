"""Fixtures shared across test packages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real, freshly migrated SQLite file, always closed (aiosqlite hangs the interpreter otherwise)."""
    database = await Database.open(tmp_path / "bot.db")
    try:
        yield database
    finally:
        await database.close()
