"""Configuration shared by every command, read from the environment with embedded defaults."""

from __future__ import annotations

import contextlib
import getpass
import os
from pathlib import Path

DEFAULT_DATABASE = Path("data/bot.db")
DEFAULT_INTENTS = Path("intents")
FALLBACK_STAFF_NAME = "staff"


POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def database_location(value: str | Path | None) -> Path | str:
    """A ``BOT_DATABASE`` / ``--database`` value: a ``postgresql://`` URL stays text (``Path`` would fold its
    ``//``), anything else is a SQLite file path; empty means the default file."""
    if isinstance(value, Path):
        return value
    text = (value or "").strip()
    if not text:
        return DEFAULT_DATABASE
    return text if text.startswith(POSTGRESQL_SCHEMES) else Path(text)


def database() -> Path | str:
    """Where the data lives: ``BOT_DATABASE`` as a SQLite file path or a ``postgresql://`` URL."""
    return database_location(os.environ.get("BOT_DATABASE"))


def database_path() -> Path:
    """The SQLite file of ``BOT_DATABASE``; for commands that only work on a file (see :func:`database`)."""
    location = database()
    if isinstance(location, str):
        raise ValueError("BOT_DATABASE is a PostgreSQL URL, not a SQLite file")
    return location


def intents_dir() -> Path:
    return Path(os.environ.get("BOT_INTENTS") or DEFAULT_INTENTS)


def staff_name(explicit: str | None = None) -> str:
    """Who is acting on the queue: ``--as NAME``, else ``BOT_STAFF_NAME``, else the login name.

    The login name comes from :func:`getpass.getuser` (``LOGNAME``, ``USER``, ``LNAME``, ``USERNAME``,
    then the password database), so a service account without those variables still gets its own name;
    ``staff`` only when even that fails. Customers see this name in replies.
    """
    if explicit and explicit.strip():
        return explicit.strip()
    configured = os.environ.get("BOT_STAFF_NAME", "").strip()
    if configured:
        return configured
    with contextlib.suppress(Exception):
        login = getpass.getuser().strip()
        if login:
            return login
    return FALLBACK_STAFF_NAME
