"""Telegram settings read from the environment, checked once at start-up.

A bot that starts with a typo in its staff chat id would answer customers and then lose every escalation,
so every value is validated before anything connects, and a problem names the variable to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot import config as shared

DEFAULT_API_BASE_URL = "https://api.telegram.org"

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(ValueError):
    """A missing or malformed variable; ``str()`` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret: str
    listen: str = "0.0.0.0"
    port: int = 8443

    @property
    def url_path(self) -> str:
        """The path PTB's web server listens on: the same path Telegram will post to."""
        return urlsplit(self.url).path.strip("/")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    staff_chat_id: int
    database: Path | str
    """A SQLite file or a ``postgresql://`` URL (``BOT_DATABASE``)."""
    intents: Path
    api_base_url: str = DEFAULT_API_BASE_URL
    webhook: Webhook | None = None
    heartbeat: Path | None = None
    """``BOT_HEARTBEAT``: a file touched while the bot is healthy, for container health checks."""

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: the server root plus ``/bot`` (the token is appended by PTB)."""
        return _api_url(self.api_base_url, "bot")

    @property
    def base_file_url(self) -> str:
        return _api_url(self.api_base_url, "file/bot")

    def __repr__(self) -> str:
        # Never let the token reach a log line or a traceback through a repr.
        return f"TelegramConfig(staff_chat_id={self.staff_chat_id}, api_base_url={self.api_base_url!r}, ...)"


def _api_url(root: str, suffix: str) -> str:
    if "{token}" in root:
        return root if suffix == "bot" else root.replace("/bot{token}", "/file/bot{token}")
    root = root.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/{suffix}"


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = _get(env, name)
    if not raw:
        if default is None:
            raise ConfigError(name, "is not set")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from None


def _http_url(env: Mapping[str, str], name: str, *, https_only: bool = False) -> str:
    raw = _get(env, name)
    parts = urlsplit(raw)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        wanted = "an https:// URL" if https_only else "an http:// or https:// URL"
        raise ConfigError(name, f"must be {wanted}, got {raw!r}")
    return raw


def load(env: Mapping[str, str] | None = None) -> TelegramConfig | None:
    """The Telegram configuration, or ``None`` when ``TELEGRAM_BOT_TOKEN`` is unset (the terminal chat runs).

    Raises :class:`ConfigError` for anything missing or malformed.
    """
    env = os.environ if env is None else env
    if "TELEGRAM_BOT_TOKEN" not in env:
        return None
    token = _get(env, "TELEGRAM_BOT_TOKEN")
    if not token:
        # Set but empty is a deployment that meant to run on Telegram (e.g. .env.example copied as is):
        # falling back to the terminal there would greet nobody and exit, over and over.
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "is empty; set the token from BotFather, or unset it for the terminal chat"
        )
    if not _TOKEN.match(token):
        # Do not echo the value: a token pasted with a typo is still mostly a secret.
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "does not look like a BotFather token (digits, ':', then letters)"
        )
    staff_chat_id = _int(env, "TELEGRAM_STAFF_CHAT_ID")
    if staff_chat_id >= 0:
        raise ConfigError(
            "TELEGRAM_STAFF_CHAT_ID",
            f"must be the staff supergroup's negative id (like -1001234567890), got {staff_chat_id}",
        )
    api_base_url = DEFAULT_API_BASE_URL
    if _get(env, "TELEGRAM_API_BASE_URL"):
        api_base_url = _http_url(env, "TELEGRAM_API_BASE_URL")
    webhook = None
    if _get(env, "TELEGRAM_WEBHOOK_URL"):
        url = _http_url(env, "TELEGRAM_WEBHOOK_URL", https_only=True)
        secret = _get(env, "TELEGRAM_WEBHOOK_SECRET")
        if not secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "is not set (required with TELEGRAM_WEBHOOK_URL)")
        if not _SECRET.match(secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        port = _int(env, "TELEGRAM_WEBHOOK_PORT", 8443)
        if not 0 < port < 65536:
            raise ConfigError("TELEGRAM_WEBHOOK_PORT", f"must be a port number (1-65535), got {port}")
        webhook = Webhook(url, secret, _get(env, "TELEGRAM_WEBHOOK_LISTEN") or "0.0.0.0", port)
    return TelegramConfig(
        token=token,
        staff_chat_id=staff_chat_id,
        database=shared.database_location(_get(env, "BOT_DATABASE")),
        intents=Path(_get(env, "BOT_INTENTS") or shared.DEFAULT_INTENTS),
        api_base_url=api_base_url,
        webhook=webhook,
        heartbeat=Path(_get(env, "BOT_HEARTBEAT")) if _get(env, "BOT_HEARTBEAT") else None,
    )
