"""Fixtures shared across test packages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database


@pytest.fixture(scope="session", autouse=True)
def _vector_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The meaning model's vector cache goes to a temporary folder, never the developer's home."""
    import os

    if not os.environ.get("CAREBOT_CACHE_DIR"):
        os.environ["CAREBOT_CACHE_DIR"] = str(tmp_path_factory.mktemp("vector-cache"))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real, freshly migrated SQLite file, always closed (aiosqlite hangs the interpreter otherwise)."""
    database = await Database.open(tmp_path / "bot.db")
    try:
        yield database
    finally:
        await database.close()
