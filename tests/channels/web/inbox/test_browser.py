"""The inbox in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no download).

A uvicorn server in this process serves ``Starlette(routes=inbox_routes(...))`` on a free port from its
own thread and event loop; customers are simulated through :class:`ConversationService` on a second
connection to the same SQLite file, as the bot's process would write it. Without Chromium the tests skip
locally and fail in CI (``CI`` set).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn

from bot.channels.base import Inbound
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.service.accounts import AccountService
from bot.service.engine import ConversationService
from bot.storage import Database
from tests.channels.web.conftest import CHROMIUM, CHROMIUM_ARGS, need_chromium
from tests.channels.web.inbox.conftest import FAST, INTENTS, PASSWORD, Clock, make_app

TIMEOUT_MS = 15_000
"""How long an expectation waits: generous, for a CI machine running many tests at once."""
DOCS = Path(__file__).resolve().parents[4] / "docs"

try:
    from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


class Server:
    """uvicorn serving the inbox from a thread with its own loop and its own database connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        db = await Database.open(self.path)
        try:
            config = uvicorn.Config(make_app(db, Clock()), log_level="warning", lifespan="off")
            self.server = uvicorn.Server(config)
            await self.server.serve(sockets=[self.sock])
        finally:
            await db.close()

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not (self.server is not None and self.server.started):
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.server.force_exit = True  # open event streams must not hold the shutdown
        self.thread.join(10)
        self.sock.close()


class Customers:
    """Customers writing to the bot, through the real engine, on a connection of their own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.brain = Brain.build(load_folder(INTENTS).content)

    def say(self, *texts: str, user: str = "u1", name: str = "Kim", channel: str = "web") -> None:
        async def run() -> None:
            async with await Database.open(self.path) as db:
                service = ConversationService(db, self.brain)
                for text in texts:
                    await service.handle(
                        Inbound(
                            channel=channel, user_id=user, display_name=name, language_hint="de", text=text
                        )
                    )

        # Playwright's sync API runs an event loop in this thread; the customers get a thread of their own.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run()).result()


def _query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Server, Customers]]:
    need_chromium()
    path = tmp_path / "bot.db"

    async def setup() -> None:
        async with await Database.open(path) as db:
            accounts = AccountService(db, hasher=FAST)
            await accounts.add("Alice", PASSWORD)
            await accounts.add("Bob", PASSWORD)

    asyncio.run(setup())
    with Server(path) as server:
        yield server, Customers(path)


@pytest.fixture
def browser() -> Iterator[Browser]:
    need_chromium()
    assert sync_playwright is not None
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _page(browser: Browser, problems: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


def test_an_agent_sees_a_ticket_arrive_live_replies_and_resolves(
    site: tuple[Server, Customers], browser: Browser
) -> None:
    server, customers = site
    customers.say(
        "Das ist eine Frechheit, ich gehe zum Anwalt!", user="t1", name="Lee Wong", channel="telegram"
    )
    customers.say("Mein Router blinkt rot", "/human", user="c1", name="Max Muster", channel="terminal")
    problems: list[str] = []
    page = _page(browser, problems)
    page.goto(server.url + "/inbox")
    expect(page).to_have_url(server.url + "/login")
    page.get_by_label("Name").fill("Alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url + "/inbox")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#count-all")).to_have_text("2")

    customers.say("Wo finde ich meine Rechnung?", "/human", user="w1", name="Kim Berger")
    [(ticket,)] = _query(
        server.path,
        "SELECT id FROM tickets WHERE customer_id = (SELECT id FROM customers WHERE external_id = 'w1')",
    )
    item = page.locator(f'.ticket-item[data-id="{ticket}"]')
    expect(item).to_be_visible()  # no reload: the event stream brought it
    expect(page.get_by_role("status")).to_contain_text(f"New ticket: #{ticket}")
    expect(page.locator("#count-unassigned")).to_have_text("3")
    expect(page).to_have_title("(3) Inbox · carebot")

    item.click()
    expect(page.locator("#ticket-heading")).to_have_text(f"#{ticket} · Kim Berger")
    expect(page.locator("#messages")).to_contain_text("bot saw: invoice_copy 100")
    page.get_by_label("Reply to the customer").fill("Ich schicke Ihnen die Rechnung gleich per Mail.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_have_text(f"Reply to #{ticket} queued for delivery.")
    expect(page.locator("#messages")).to_contain_text("Ich schicke Ihnen die Rechnung gleich per Mail.")
    outbox = _query(
        server.path,
        "SELECT o.channel, m.author, m.agent, m.text FROM outbox o JOIN messages m ON m.id = o.message_id"
        " WHERE o.ticket_id = ? AND m.author = 'agent'",
        ticket,
    )
    assert len(outbox) == 1
    channel, author, agent, text = outbox[0]
    assert (channel, author, agent) == ("web", "agent", "Alice")
    assert "Ich schicke Ihnen die Rechnung gleich per Mail." in str(text)

    customers.say("Danke, und wann kommt sie?", user="w1", name="Kim Berger")
    expect(page.locator("#messages")).to_contain_text(
        "Danke, und wann kommt sie?"
    )  # live, in the open ticket
    expect(page.locator("#ticket-meta")).to_have_text(
        re.compile(r"^normal\s+assigned with Alice · reason requested")
    )
    if os.environ.get("UPDATE_SCREENSHOTS"):  # docs/inbox.png, shown in docs/inbox.md
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS / "inbox.png"))
    page.get_by_label("Internal note (never sent)").fill("Rechnung 2026-11 fehlt im Kundencenter")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#messages")).to_contain_text("Note by Alice")
    page.get_by_role("button", name="Resolve", exact=False).first.click()
    expect(page.get_by_role("status")).to_contain_text(f"#{ticket} resolved")
    assert _query(server.path, "SELECT status, assignee FROM tickets WHERE id = ?", ticket) == [
        ("resolved", "Alice")
    ]

    page.get_by_role("button", name="Stats").click()
    expect(page.locator("#inbox-page")).to_be_hidden()
    expect(page.locator("#chart-days svg rect").first).to_be_attached()
    expect(page.locator("#stats-numbers")).to_contain_text("Median first response")
    assert not problems, problems  # no script errors, no Content-Security-Policy violations


def test_keyboard_only(site: tuple[Server, Customers], browser: Browser) -> None:
    server, customers = site
    customers.say("/human", user="a", name="Ada")
    customers.say("/human", user="b", name="Ben")
    problems: list[str] = []
    page = _page(browser, problems)
    page.goto(server.url + "/login")
    expect(page.get_by_label("Name")).to_be_focused()  # autofocus: no mouse needed to start
    page.keyboard.type("Bob")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(server.url + "/inbox")
    expect(page.locator("#count-all")).to_have_text("2")
    expect(page.locator("#live")).to_have_text("live")

    page.keyboard.press("j")
    first = page.locator('.ticket-item[aria-current="true"]')
    expect(first).to_be_focused()
    expect(page.locator("#ticket-heading")).to_have_text(re.compile(r"#\d+ · Ada"))
    page.keyboard.press("j")
    expect(page.locator("#ticket-heading")).to_have_text(re.compile(r"#\d+ · Ben"))
    page.keyboard.press("k")
    expect(page.locator("#ticket-heading")).to_have_text(re.compile(r"#\d+ · Ada"))
    page.keyboard.press("c")
    expect(page.get_by_role("status")).to_contain_text("is yours, Bob")
    page.keyboard.press("r")
    expect(page.get_by_label("Reply to the customer")).to_be_focused()
    page.keyboard.type("Hallo Ada, ich bin dran.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("queued for delivery")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.get_by_label("Internal note (never sent)")).to_be_focused()
    page.keyboard.type("Kundin ruft morgen an")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("Note added")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("resolve and open the next ticket")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("Shift+E")
    expect(page.get_by_role("status")).to_contain_text("resolved")
    expect(page.locator("#ticket-heading")).to_have_text(re.compile(r"#\d+ · Ben"))  # the next one is open

    rows = _query(
        server.path,
        "SELECT c.display_name, t.status, t.assignee FROM tickets t JOIN customers c ON c.id = t.customer_id"
        " ORDER BY t.id",
    )
    assert rows == [("Ada", "resolved", "Bob"), ("Ben", "open", None)]
    notes = _query(
        server.path, "SELECT agent, private, text FROM messages WHERE author = 'agent' ORDER BY id"
    )
    assert notes == [("Bob", 0, notes[0][2]), ("Bob", 1, "Kundin ruft morgen an")]
    assert "Hallo Ada, ich bin dran." in str(notes[0][2])
    assert not problems, problems


def _login(page: Page, server: Server, name: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#me")).to_have_text(name)


def test_two_agents_are_warned_and_a_take_over_is_asked_first(
    site: tuple[Server, Customers], browser: Browser
) -> None:
    server, customers = site
    customers.say("/human", user="a", name="Ada")
    problems: list[str] = []
    bob, alice = _page(browser, problems), _page(browser, problems)
    _login(bob, server, "Bob")
    bob.locator(".ticket-item").first.click()
    bob.get_by_role("button", name="Claim").click()
    expect(bob.get_by_role("status")).to_contain_text("is yours, Bob")

    _login(alice, server, "Alice")
    alice.locator(".ticket-item").first.click()
    warnings = alice.locator("#warnings")
    expect(warnings).to_contain_text("Bob has this ticket open too.")
    expect(warnings).to_contain_text("Bob holds this ticket (assigned).")
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        if len(questions) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    alice.on("dialog", answer)
    alice.keyboard.press("c")  # first asked and declined: nothing changes
    expect(alice.locator("#ticket-meta")).to_contain_text("assigned with Bob")
    alice.get_by_role("button", name="Claim").click()  # asked again and accepted
    expect(alice.get_by_role("status")).to_contain_text("is yours, Alice")
    assert questions == ["Bob holds this ticket. Take it over?"] * 2
    assert _query(server.path, "SELECT assignee FROM tickets") == [("Alice",)]
    assert not problems, problems
    alice.get_by_role("button", name="Log out").click()
    expect(alice).to_have_url(server.url + "/login")
    assert alice.request.get(server.url + "/api/me").status == 401  # the session is gone, not just the page
    assert bob.request.get(server.url + "/api/me").status == 200
    # A request the page had in flight when the session ended (the live stream reconnecting) may be refused
    # with 401 on its way out; anything else is a problem.
    assert all("401 (Unauthorized)" in problem for problem in problems), problems
