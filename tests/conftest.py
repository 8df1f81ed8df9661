"""Fixtures shared across test packages.

``db`` (and every fixture built on ``database_location``, like the service harness) runs each test on both
engines: a SQLite file in ``tmp_path`` and the test PostgreSQL server. PostgreSQL is kept fast by one
database per test session, migrated once and emptied (``TRUNCATE … RESTART IDENTITY``) before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.storage import Database
from tests import pg

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session", autouse=True)
def _vector_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The meaning model's vector cache goes to a temporary folder, never the developer's home."""
    import os

    if not os.environ.get("CAREBOT_CACHE_DIR"):
        os.environ["CAREBOT_CACHE_DIR"] = str(tmp_path_factory.mktemp("vector-cache"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The session's PostgreSQL database (created with a unique name, dropped at the end), migrated once."""
    import asyncio

    url = pg.create_database()
    try:

        async def migrate() -> None:
            await (await Database.open(url)).close()

        asyncio.run(migrate())
        yield url
    finally:
        pg.drop_database(url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """Where this test's empty, migrated database lives: a file, or the session's PostgreSQL database."""
    if engine == "sqlite":
        return tmp_path / "bot.db"
    url: str = request.getfixturevalue("postgres_url")
    pg.empty_tables(url)
    return url


@pytest.fixture
async def db(database_location: str | Path) -> AsyncIterator[Database]:
    """A real, freshly migrated database on each engine, always closed (aiosqlite hangs the interpreter
    otherwise, and a pool left open keeps its connections)."""
    database = await Database.open(database_location)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def replicas(db: Database) -> AsyncIterator[list[Database]]:
    """``db`` and two more connections to the same database, each standing for one replica."""
    others = [await Database.open(db.location) for _ in range(2)]
    try:
        yield [db, *others]
    finally:
        for other in others:
            await other.close()
