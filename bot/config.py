"""Configuration shared by every command, read from the environment with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATABASE = Path("data/bot.db")
DEFAULT_INTENTS = Path("intents")


def database_path() -> Path:
    return Path(os.environ.get("BOT_DATABASE") or DEFAULT_DATABASE)


def intents_dir() -> Path:
    return Path(os.environ.get("BOT_INTENTS") or DEFAULT_INTENTS)


def staff_name(explicit: str | None = None) -> str:
    """Who is acting on the queue: ``--as NAME``, else ``BOT_STAFF_NAME``, else the login name."""
    if explicit:
        return explicit
    return os.environ.get("BOT_STAFF_NAME") or os.environ.get("USER") or os.environ.get("LOGNAME") or "staff"
