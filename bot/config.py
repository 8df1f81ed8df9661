"""Configuration shared by every command, read from the environment with embedded defaults."""

from __future__ import annotations

import contextlib
import getpass
import os
from pathlib import Path

DEFAULT_DATABASE = Path("data/bot.db")
DEFAULT_INTENTS = Path("intents")
FALLBACK_STAFF_NAME = "staff"


def database_path() -> Path:
    return Path(os.environ.get("BOT_DATABASE") or DEFAULT_DATABASE)


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
