"""Web channel settings from the environment, checked once at start-up (a problem names the variable)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_TEXT = 4000
"""Characters per customer message; longer ones get a clear error (the client keeps the text)."""
MAX_FRAME = 32 * 1024
"""Bytes per WebSocket frame or POST body: 4,000 characters of any script fit with room to spare."""


class WebConfigError(ValueError):
    """A malformed variable; ``str()`` is the one line shown to the operator."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: ``burst`` at once, refilled at ``per_minute``."""

    burst: int
    per_minute: float


@dataclass(frozen=True, slots=True)
class Limits:
    """Why these numbers: a person types a message every few seconds at most; a script does not.

    Per visitor 6 at once and 20 a minute leaves a fast typist untouched. Per address 120 a minute lets an
    office or a mobile carrier's shared address carry many visitors. New visitors (tokens) per address: 30
    at once, 60 an hour, so one machine cannot fill the customer table.
    """

    visitor: Rate = field(default_factory=lambda: Rate(6, 20))
    address: Rate = field(default_factory=lambda: Rate(60, 120))
    new_visitor: Rate = field(default_factory=lambda: Rate(30, 1))


@dataclass(frozen=True, slots=True)
class WebConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    origins: tuple[str, ...] = ()
    """Other origins allowed to embed the widget (``BOT_WEB_ORIGINS``); the bot's own origin always is."""
    secret: str | None = None
    """``BOT_WEB_SECRET``; without it the secret generated on first start and kept in the database."""
    identity_secret: str | None = None
    """``BOT_WEB_IDENTITY_SECRET``: the key the company's site signs ``carebot.identify`` with."""
    limits: Limits = field(default_factory=Limits)
    token_days: int = 365
    """A visitor token older than this is refused; every connection renews it."""
    allowed_hosts: tuple[str, ...] = ()
    """``BOT_WEB_ALLOWED_HOSTS``: more names the bot may be reached by (a reverse proxy that passes the
    public ``Host`` on), besides its own address and localhost. See :func:`bot.channels.web.security.host_allowed`."""
    metrics_token: str | None = None
    """``BOT_METRICS_TOKEN``: when set, ``/metrics`` requires it as a Bearer token (bot/channels/web/health.py)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"


def _origin(variable: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise WebConfigError(variable, f"{raw.strip()!r} is not an origin like https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _host_name(variable: str, raw: str) -> str:
    """A bare host name (``bot.example.com``); a port is accepted and ignored, a URL is not."""
    from bot.channels.web.security import host_name  # here: reading settings need not load starlette

    name = host_name(raw)
    if name is None or "/" in raw:
        raise WebConfigError(variable, f"{raw.strip()!r} is not a host name like bot.example.com")
    return name


def load(env: Mapping[str, str] | None = None) -> WebConfig:
    env = os.environ if env is None else env
    host = env.get("BOT_WEB_HOST", "").strip() or DEFAULT_HOST
    raw_port = env.get("BOT_WEB_PORT", "").strip() or str(DEFAULT_PORT)
    try:
        port = int(raw_port)
    except ValueError:
        raise WebConfigError("BOT_WEB_PORT", f"must be a port number, got {raw_port!r}") from None
    if not 0 <= port < 65536:
        raise WebConfigError("BOT_WEB_PORT", f"must be a port number (0-65535), got {port}")
    origins = tuple(
        _origin("BOT_WEB_ORIGINS", item) for item in env.get("BOT_WEB_ORIGINS", "").split(",") if item.strip()
    )
    secret = env.get("BOT_WEB_SECRET", "").strip() or None
    if secret is not None and len(secret) < 32:
        raise WebConfigError("BOT_WEB_SECRET", "must be at least 32 characters (e.g. `openssl rand -hex 32`)")
    identity = env.get("BOT_WEB_IDENTITY_SECRET", "").strip() or None
    if identity is not None and len(identity) < 16:
        raise WebConfigError("BOT_WEB_IDENTITY_SECRET", "must be at least 16 characters")
    allowed_hosts = tuple(
        _host_name("BOT_WEB_ALLOWED_HOSTS", item)
        for item in env.get("BOT_WEB_ALLOWED_HOSTS", "").split(",")
        if item.strip()
    )
    metrics_token = env.get("BOT_METRICS_TOKEN", "").strip() or None
    if metrics_token is not None and (len(metrics_token) < 16 or not _header_safe(metrics_token)):
        raise WebConfigError(
            "BOT_METRICS_TOKEN",
            "must be at least 16 printable characters without spaces (openssl rand -hex 32)",
        )
    return WebConfig(
        host=host,
        port=port,
        origins=origins,
        secret=secret,
        identity_secret=identity,
        allowed_hosts=allowed_hosts,
        metrics_token=metrics_token,
    )


def _header_safe(token: str) -> bool:
    """Whether ``token`` can travel in an ``Authorization`` header as it is (Prometheus sends it verbatim)."""
    return token.isascii() and token.isprintable() and " " not in token
