"""What the inbox needs from the process that serves it, and the state its routes share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher

from bot.core.render import Renderer
from bot.service.accounts import AccountService, LoginThrottle
from bot.service.clock import Clock, utcnow
from bot.service.staff import StaffService
from bot.storage import Database
from bot.storage.notify import Notifications

SOURCE = "inbox"
"""``StaffService`` source of every action taken in the browser; the staff group shows "Alice (inbox)"."""


@dataclass(frozen=True)
class InboxDeps:
    db: Database
    renderer: Callable[[], Renderer]
    """Called per action, like :class:`StaffService` takes it, so a reloaded intents folder is used at once."""
    clock: Clock = utcnow
    secure_cookies: bool | None = None
    """True: the session cookie is always ``Secure``; False: never; None: when the request came over
    https (directly, or ``X-Forwarded-Proto: https`` from a reverse proxy)."""
    allowed_origins: tuple[str, ...] = ()
    """Origins besides the page's own that may send changes with a session cookie (``https://desk.example``)."""
    notify_staff: bool = False
    """True when a Telegram staff group delivers the notifications (else their outbox rows would wait)."""
    wake: Callable[[], None] = lambda: None
    """Called after every action: the process's outbox senders deliver at once instead of at their next look."""
    hasher: PasswordHasher | None = None
    """argon2 parameters for rehashing on login; None: argon2-cffi's recommended profile."""
    notifications: Notifications | None = None
    """Wake-ups across replicas (``bot/storage/notify.py``): on PostgreSQL a change to tickets, messages or
    events wakes every open event stream at once; the poll below stays as the safety net."""
    poll_interval: float = 1.0
    """Seconds between the live-update stream's looks at the database."""
    stream_lifetime: float = 300.0
    """Seconds one live-update stream lasts before the browser reconnects (frees dead connections)."""


@dataclass
class Presence:
    """Who has which ticket open, from the page's regular refreshes; forgotten after ``ttl``.

    In memory on purpose: it is a hint for colleagues ("Bob is looking at this"), worthless after a restart.
    """

    clock: Clock = utcnow
    ttl: timedelta = timedelta(seconds=45)
    _seen: dict[int, dict[str, datetime]] = field(default_factory=dict)

    def viewing(self, ticket_id: int, agent: str) -> None:
        now = self.clock()
        for viewers in self._seen.values():
            viewers.pop(agent, None)  # one ticket open per agent: opening another leaves the first
        self._seen.setdefault(ticket_id, {})[agent] = now
        self._seen = {ticket: viewers for ticket, viewers in self._seen.items() if viewers}

    def left(self, agent: str) -> None:
        for viewers in self._seen.values():
            viewers.pop(agent, None)

    def viewers(self, ticket_id: int, *, besides: str | None = None) -> list[str]:
        now = self.clock()
        viewers = self._seen.get(ticket_id, {})
        return sorted(agent for agent, seen in viewers.items() if now - seen < self.ttl and agent != besides)


@dataclass
class InboxState:
    deps: InboxDeps
    accounts: AccountService
    staff: StaffService
    throttle: LoginThrottle
    presence: Presence

    @classmethod
    def build(cls, deps: InboxDeps) -> InboxState:
        return cls(
            deps=deps,
            accounts=AccountService(deps.db, clock=deps.clock, hasher=deps.hasher),
            staff=StaffService(
                deps.db,
                deps.renderer,
                source=SOURCE,
                notify_staff=deps.notify_staff,
                clock=deps.clock,
                name_source=True,
            ),
            throttle=LoginThrottle(clock=deps.clock),
            presence=Presence(clock=deps.clock),
        )
