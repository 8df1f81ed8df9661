"""An inbox on a real SQLite file, served by Starlette's TestClient, with tickets made by the real engine.

The tests are synchronous; async work (the engine, the database) runs on the TestClient's own event loop
through its portal, so the app and the test share one loop and one aiosqlite connection, as in production.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.channels.base import Inbound
from bot.channels.web.inbox import InboxDeps, inbox_routes
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.core.render import Renderer
from bot.service.accounts import AccountService
from bot.service.engine import ConversationService
from bot.storage import Database

INTENTS = Path(__file__).resolve().parents[3] / "service" / "intents"
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
"""Real argon2id, cheaper parameters: these tests are about the web layer, not the hash cost."""
PASSWORD = "correct horse battery"
T = TypeVar("T")


class Clock:
    """Real time by default; a test may move it forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Desk:
    client: TestClient
    db: Database
    service: ConversationService
    accounts: AccountService
    clock: Clock
    app: Starlette
    ready: dict[str, str] | None = None
    """Token headers once :meth:`prepared` has made an account and a ticket (reused across examples)."""

    def prepared(self) -> dict[str, str]:
        """An account and ticket #1, made once; returns the account's token headers."""
        if self.ready is None:
            self.account()
            self.escalate()
            self.ready = self.token()
        return self.ready

    def run(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        assert self.client.portal is not None

        async def call() -> T:
            return await function(*args, **kwargs)

        return self.client.portal.call(call)

    def customer_says(self, text: str, user: str = "u1", name: str = "Kim", channel: str = "web") -> None:
        self.run(
            self.service.handle,
            Inbound(channel=channel, user_id=user, display_name=name, language_hint="de", text=text),
        )

    def escalate(self, user: str = "u1", name: str = "Kim", channel: str = "web") -> int:
        """A customer asks for a human; returns the new ticket's number."""
        self.customer_says("Wo finde ich meine Rechnung?", user, name, channel)
        self.customer_says("/human", user, name, channel)
        customer = self.run(self.db.customer_by_external, channel, user)
        assert customer is not None
        ticket = self.run(self.db.active_ticket, customer.id)
        assert ticket is not None
        return ticket.id

    def account(self, name: str = "Alice", *, admin: bool = False) -> None:
        self.run(self.accounts.add, name, PASSWORD, admin=admin)

    def token(self, name: str = "Alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.run(self.accounts.new_token, name)}"}

    def login(self, name: str = "Alice", client: TestClient | None = None) -> dict[str, str]:
        """Log in with the JSON form of POST /login; returns the CSRF header for changes."""
        response = (client or self.client).post("/login", json={"name": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"X-CSRF-Token": response.json()["csrf_token"]}

    def other_client(self) -> TestClient:
        """A second browser: its own cookies, the same app and loop."""
        other = TestClient(self.app, base_url="http://testserver")
        other.portal = self.client.portal
        return other


def make_app(db: Database, clock: Clock, **settings: Any) -> Starlette:
    renderer = Renderer(load_folder(INTENTS).content)
    deps = InboxDeps(
        db=db, renderer=lambda: renderer, clock=clock, hasher=FAST, poll_interval=0.05, **settings
    )
    return Starlette(routes=inbox_routes(deps))


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    app = Starlette()
    clock = Clock()
    with TestClient(app, base_url="http://testserver") as client:
        assert client.portal is not None
        db = client.portal.call(Database.open, tmp_path / "bot.db")
        try:
            inner = make_app(db, clock)
            app.router.routes.extend(inner.router.routes)
            service = ConversationService(db, Brain.build(load_folder(INTENTS).content))
            yield Desk(client, db, service, AccountService(db, clock=clock, hasher=FAST), clock, app)
        finally:
            client.portal.call(db.close)
