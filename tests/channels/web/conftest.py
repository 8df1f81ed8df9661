"""The real web app on a real SQLite file and a real YAML folder, driven through Starlette's TestClient.

TestClient runs the app in an event loop of its own (a portal thread). The database, the engine and the
app are therefore built inside that loop (the outer app's lifespan), and tests reach them with
``stack.call(...)``, which runs a coroutine there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from bot.channels.web.app import create_app
from bot.channels.web.channel import WebChannel
from bot.channels.web.config import Limits, Rate, WebConfig
from bot.channels.web.visitors import WebVisitors
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.core.model import Content
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.service.staff import StaffService
from bot.storage import Database

INTENTS = Path(__file__).resolve().parents[2] / "service" / "intents"
T = TypeVar("T")

# --- the browser every browser test here uses (widget, inbox, both together) ------------------------------

CHROMIUM = Path(os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium package, driven by Playwright with ``executable_path``: no browser download."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip locally, fail in CI (``CI`` set): a skipped browser test there would hide a broken page."""
    missing = (
        "playwright is not installed"
        if importlib.util.find_spec("playwright") is None
        else f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if not CHROMIUM.exists()
        else None
    )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Chromium through Playwright's async API, in the test's own event loop (where the server runs)."""
    need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@cache
def small_content() -> Content:
    return load_folder(INTENTS).content


@dataclass
class Stack:
    client: TestClient
    parts: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        db: Database = self.parts["db"]
        return db

    @property
    def staff(self) -> StaffService:
        staff: StaffService = self.parts["staff"]
        return staff

    @property
    def visitors(self) -> WebVisitors:
        visitors: WebVisitors = self.parts["visitors"]
        return visitors

    def call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``function(*args)`` in the app's event loop (where the database lives)."""
        assert self.client.portal is not None
        return self.client.portal.call(function, *args)

    def deliver(self) -> int:
        """One outbox round, as the running bot's sender does every second."""
        sender: OutboxSender = self.parts["sender"]
        return self.call(sender.run_once)

    def token(self, **headers: str) -> str:
        response = self.client.post("/widget/token", headers=headers)
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


TEST_CONFIG = WebConfig(allowed_hosts=("testserver",))
"""TestClient sends ``Host: testserver``; the bot listens on loopback, so the name is allowed as an operator
allows a reverse proxy's public name (docs/web.md, the Host check)."""


def build(tmp_path: Path, config: WebConfig) -> Iterator[Stack]:
    parts: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await Database.open(tmp_path / "bot.db")
        channel = WebChannel()
        sender = OutboxSender(db, {"web": channel})
        conversation = ConversationService(db, Brain.build(small_content()))
        visitors = WebVisitors(db, conversation, channel, config, wake=sender.wake)
        staff = StaffService(db, lambda: conversation.brain.renderer, notify_staff=False)
        parts.update(
            db=db, channel=channel, sender=sender, visitors=visitors, staff=staff, app=create_app(visitors)
        )
        try:
            yield
        finally:
            await db.close()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await parts["app"](scope, receive, send)

    outer = Starlette(lifespan=lifespan, routes=[Mount("/", app=inner)])
    with TestClient(outer, base_url="http://testserver") as client:
        yield Stack(client, parts)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from build(tmp_path, TEST_CONFIG)


@pytest.fixture
def make_stack(tmp_path: Path) -> Callable[..., contextlib.AbstractContextManager[Stack]]:
    """A stack with other settings (origins, limits, secrets)."""

    @contextlib.contextmanager
    def make(**changes: Any) -> Iterator[Stack]:
        yield from build(tmp_path, replace(TEST_CONFIG, **changes))

    return make


def tight_limits(visitor: int = 2, address: int = 100) -> Limits:
    return Limits(visitor=Rate(visitor, 0.001), address=Rate(address, 0.001), new_visitor=Rate(50, 1))


def receive_until(ws: Any, wanted: Callable[[dict[str, Any]], bool], limit: int = 50) -> list[dict[str, Any]]:
    """Frames up to and including the first one ``wanted`` accepts (fails after ``limit`` frames)."""
    frames = []
    for _ in range(limit):
        frame = json.loads(ws.receive_text())
        frames.append(frame)
        if wanted(frame):
            return frames
    raise AssertionError(f"no wanted frame among {frames}")
