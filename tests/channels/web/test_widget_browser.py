"""The widget as a customer meets it: Debian's Chromium, driven by Playwright, against the real server.

The server runs in this test's event loop (uvicorn on a free port) with the shipped intents folder and a real
SQLite file; staff act through StaffService, as ``python -m bot queue reply`` does. Without Chromium these
tests skip locally and fail in CI (``CI`` set): a skipped browser test there would hide a broken widget. The
``browser`` fixture is shared with the inbox's and the end-to-end tests (tests/channels/web/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.channels.web.config import WebConfig
from bot.channels.web.runtime import WebServer
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.service.engine import ConversationService
from bot.service.staff import StaffService
from bot.storage import Database

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "docs" / "web-widget.png"
"""Refreshed by the main journey test when CAREBOT_UPDATE_SCREENSHOT is set (a normal run leaves docs/ alone)."""
WAIT = 15_000  # ms: generous for a loaded 2-core machine; nothing here is a timing assertion

try:
    from playwright.async_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture (conftest.py) skips, or fails in CI
    expect = None


@cache
def shipped_brain() -> Brain:
    return Brain.build(load_folder(ROOT / "intents").content)


@dataclass
class Site:
    url: str
    db: Database
    staff: StaffService
    server: WebServer

    async def delivered(self) -> None:
        """Wait until the outbox has no web reply left to hand on (polls the database, no fixed sleep)."""
        for _ in range(600):
            async with self.db.snapshot() as tx:
                row = await tx.fetch_one("SELECT count(*) AS n FROM outbox WHERE status = 'pending'")
            if row is not None and row["n"] == 0:
                return
            self.server.sender.wake()
            await asyncio.sleep(0.05)
        raise AssertionError("the outbox never delivered")

    async def ticket_of_latest_customer(self) -> int:
        async with self.db.snapshot() as tx:
            row = await tx.fetch_one("SELECT max(id) AS id FROM tickets")
        assert row is not None and row["id"] is not None
        return int(row["id"])


@pytest.fixture
async def make_site(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    stops: list[tuple[asyncio.Event, asyncio.Task[None], Database]] = []

    async def make(**config: Any) -> Site:
        db = await Database.open(tmp_path / f"bot{len(stops)}.db")
        conversation = ConversationService(db, await asyncio.to_thread(shipped_brain))
        server = WebServer(db, conversation, WebConfig(port=0, **config))
        server.bind()
        stop = asyncio.Event()
        stops.append((stop, asyncio.create_task(server.serve(stop)), db))
        staff = StaffService(db, lambda: conversation.brain.renderer, notify_staff=False)
        return Site(server.url, db, staff, server)

    yield make
    for stop, task, db in stops:
        stop.set()
        await task
        await db.close()


@pytest.fixture
async def site(make_site: Callable[..., Awaitable[Site]]) -> Site:
    return await make_site()


async def open_widget(page: Any) -> None:
    await page.get_by_role("button", name=re.compile("Chat")).click()
    await expect(page.get_by_role("textbox", name="Nachricht")).to_be_focused(timeout=WAIT)
    await expect(page.get_by_role("log")).to_contain_text("automatische Assistent", timeout=WAIT)


async def write(page: Any, text: str) -> None:
    await page.get_by_role("textbox", name="Nachricht").fill(text)
    await page.get_by_role("button", name="Senden").click()


async def test_a_customer_is_answered_hands_over_and_rates(site: Site, browser: Any, tmp_path: Path) -> None:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    await page.goto(site.url + "/")
    assert await page.evaluate("localStorage.length") == 0  # nothing stored before the chat is opened
    await open_widget(page)
    assert await context.cookies() == []  # and never a cookie
    log = page.get_by_role("log")

    await write(page, "Wie lade ich meine Rechnung herunter?")
    await expect(log).to_contain_text("Kundencenter", timeout=WAIT)

    await write(page, "Karte")  # a near miss: "did you mean" with a button per candidate
    await page.get_by_role("button", name="SIM & eSIM").click()
    await expect(log.locator(".msg.bot").last).to_contain_text("SIM", timeout=WAIT)

    await write(page, "Ich möchte mit einem Mitarbeiter sprechen")
    await expect(page.get_by_role("status")).to_contain_text(re.compile(r"Vorgang \d+"), timeout=WAIT)
    ticket = await site.ticket_of_latest_customer()
    await expect(log).to_contain_text(f"Vorgangsnummer: {ticket}", timeout=WAIT)
    await page.keyboard.press("Escape")  # the customer closes the chat while waiting for a person
    await site.staff.reply(ticket, "Alice", "Ich kümmere mich darum.")
    site.server.sender.wake()
    launcher = page.get_by_role("button", name=re.compile("Chat mit"))
    await expect(launcher).to_have_accessible_name(re.compile("Neue Nachricht"), timeout=WAIT)
    await launcher.click()
    await expect(launcher).not_to_have_accessible_name(re.compile("Neue Nachricht"))
    reply = log.locator(".msg.agent")
    await expect(reply).to_contain_text("Ich kümmere mich darum.", timeout=WAIT)
    await expect(reply).to_contain_text("Alice aus dem Team")
    await log.evaluate("node => { node.scrollTop = node.scrollHeight; }")
    shot = SCREENSHOT if os.environ.get("CAREBOT_UPDATE_SCREENSHOT") else tmp_path / "web-widget.png"
    await page.screenshot(path=str(shot))

    await site.staff.resolve(ticket, "Alice")
    site.server.sender.wake()
    await page.get_by_role("button", name="5", exact=True).click()
    await expect(log).to_contain_text("5 von 5", timeout=WAIT)
    async with site.db.snapshot() as tx:
        row = await tx.fetch_one("SELECT rating FROM ratings WHERE ticket_id = ?", (ticket,))
    assert row is not None and row["rating"] == 5

    assert not [line for line in console if "Content Security Policy" in line]  # the strict CSP holds
    shown = await log.locator(".msg").count()
    await page.reload()
    await open_widget(page)
    await expect(log.locator(".msg")).to_have_count(shown, timeout=WAIT)
    await expect(log).to_contain_text("Ich kümmere mich darum.")
    await context.close()


async def test_a_reply_made_while_offline_shows_exactly_once_after_reconnecting(
    site: Site, browser: Any
) -> None:
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(site.url + "/")
    await open_widget(page)
    log = page.get_by_role("log")
    await write(page, "Ich möchte mit einem Mitarbeiter sprechen")
    await expect(page.get_by_role("status")).to_contain_text("Vorgang", timeout=WAIT)
    ticket = await site.ticket_of_latest_customer()

    await context.set_offline(True)
    await expect(page.get_by_role("alert")).to_contain_text("Keine Verbindung", timeout=WAIT)
    await site.staff.reply(ticket, "Alice", "Antwort während Sie offline waren")
    site.server.sender.wake()
    await write(page, "Geschrieben ohne Netz")  # queued in the browser, sent on reconnect
    await expect(log.locator(".pending")).to_have_count(1)
    await site.delivered()  # the outbox has handed the reply on while the browser is away
    await context.set_offline(False)

    await expect(log.locator(".msg.agent")).to_have_count(1, timeout=WAIT)
    await expect(log.locator(".pending")).to_have_count(0, timeout=WAIT)
    await expect(log.get_by_text("Antwort während Sie offline waren")).to_have_count(1)
    await expect(log.get_by_text("Geschrieben ohne Netz")).to_have_count(1)
    async with site.db.snapshot() as tx:
        row = await tx.fetch_one("SELECT count(*) AS n FROM messages WHERE text = 'Geschrieben ohne Netz'")
    assert row is not None and row["n"] == 1
    await context.close()


async def test_the_widget_works_with_the_keyboard_alone(site: Site, browser: Any) -> None:
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(site.url + "/")
    launcher = page.get_by_role("button", name=re.compile("Chat"))
    for _ in range(30):  # Tab through the page until the launcher has focus
        await page.keyboard.press("Tab")
        if await launcher.evaluate("b => b.getRootNode().activeElement === b"):
            break
    else:
        raise AssertionError("the launcher cannot be reached with Tab")
    await page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Nachricht")
    await expect(box).to_be_focused(timeout=WAIT)
    await page.keyboard.type("Karte")  # a near miss: "did you mean" with a button per candidate
    await page.keyboard.press("Enter")
    choice = page.get_by_role("button", name="SIM & eSIM")
    await expect(choice).to_be_visible(timeout=WAIT)
    await choice.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("log").locator(".msg.bot").last).to_contain_text("SIM", timeout=WAIT)
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    assert await launcher.evaluate("b => b.getRootNode().activeElement === b")
    await context.close()


async def test_the_fallback_transport_on_an_english_page(site: Site, browser: Any) -> None:
    """Where WebSockets are blocked the widget uses Server-Sent Events and POST, with the same guarantees;
    the page's lang picks the widget's language (the browser here prefers German)."""
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    html = f'<!doctype html><html lang="en"><body><script src="{site.url}/widget.js" data-transport="sse"></script>'
    await page.route(site.url + "/fallback", lambda route: route.fulfill(body=html, content_type="text/html"))
    await page.goto(site.url + "/fallback")
    await page.get_by_role("button", name=re.compile("Chat")).click()
    box = page.get_by_role("textbox", name="Message")
    await expect(box).to_be_focused(timeout=WAIT)
    await box.fill("I want to talk to a human")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("status")).to_contain_text("Reference", timeout=WAIT)
    ticket = await site.ticket_of_latest_customer()
    await site.staff.reply(ticket, "Bob", "Delivered over the fallback")
    site.server.sender.wake()
    log = page.get_by_role("log")
    await expect(log.get_by_text("Delivered over the fallback")).to_have_count(1, timeout=WAIT)
    await expect(log.locator(".msg.agent")).to_contain_text("Bob from the team")

    # A picture pasted into the chat: the widget says honestly that it cannot be received yet.
    await page.evaluate(
        """() => {
            const box = document.querySelector("#carebot-widget").shadowRoot.querySelector("textarea");
            const data = new DataTransfer();
            data.items.add(new File(["x"], "router.png", {type: "image/png"}));
            box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }"""
    )
    await expect(page.get_by_role("alert")).to_contain_text("can't receive files or pictures")
    await context.close()


@dataclass
class Shop:
    """A company's own site on another origin: a second server on this machine, reached as "localhost"
    while the bot is 127.0.0.1, with one page that embeds the widget with the one tag."""

    url: str
    script: str = ""


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = Shop(f"http://localhost:{sock.getsockname()[1]}")

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            '<!doctype html><html lang="de"><head><title>Shop</title></head><body><h1>Shop</h1>'
            f'<script src="{site.script}" defer></script></body></html>'
        )

    config = uvicorn.Config(Starlette(routes=[Route("/", page)]), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield site
    server.should_exit = True
    await task
    sock.close()


@pytest.mark.parametrize("allowed", [True, False])
async def test_a_page_on_another_origin(
    make_site: Callable[..., Awaitable[Site]],
    shop: Shop,
    browser: Any,
    allowed: bool,
) -> None:
    site = await make_site(origins=(shop.url,) if allowed else ())
    shop.script = site.url + "/widget.js"
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(shop.url + "/")
    await page.get_by_role("button", name=re.compile("Chat")).click()
    log = page.get_by_role("log")
    if allowed:
        await expect(log).to_contain_text("automatische Assistent", timeout=WAIT)
        await write(page, "Wie lade ich meine Rechnung herunter?")
        await expect(log).to_contain_text("Kundencenter", timeout=WAIT)
    else:
        await expect(page.get_by_role("alert")).to_contain_text("nicht erreichbar", timeout=WAIT)
        await expect(log.locator(".msg")).to_have_count(0)
        async with site.db.snapshot() as tx:
            row = await tx.fetch_one("SELECT count(*) AS n FROM customers")
        assert row is not None and row["n"] == 0
    await context.close()


async def test_identify_and_reset_from_the_page(
    make_site: Callable[..., Awaitable[Site]], browser: Any
) -> None:
    from bot.channels.web.tokens import identity_hash

    secret = "identity-secret-for-tests"
    site = await make_site(identity_secret=secret)
    context = await browser.new_context(locale="de-DE")
    page = await context.new_page()
    await page.goto(site.url + "/")
    await open_widget(page)
    log = page.get_by_role("log")
    anonymous = await page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':token')).length")
    assert anonymous == 1  # stored only now that the chat is open

    await page.evaluate(
        "([id, hash]) => carebot.identify({id, name: 'Kim Berger', email: 'kim@example.com', hash})",
        ["4711", "0" * 64],
    )
    await write(page, "Tarif wechseln")
    await expect(log.locator(".msg.bot")).to_have_count(2, timeout=WAIT)
    await expect(log).not_to_contain_text("Kim Berger")  # a wrong hash is ignored

    await page.evaluate(
        "([id, hash]) => carebot.identify({id, name: 'Kim Berger', email: '', hash})",
        ["4711", identity_hash(secret, "4711")],
    )
    await expect(log).to_contain_text("Hallo Kim Berger!", timeout=WAIT)  # the person's own conversation
    await expect(log).not_to_contain_text("Tarif wechseln")

    await page.evaluate("carebot.reset()")
    await expect(log).not_to_contain_text("Kim Berger", timeout=WAIT)
    await expect(log.locator(".msg")).to_have_count(1, timeout=WAIT)  # a new, anonymous greeting
    await expect(log).to_contain_text("Hallo!")
    await context.close()
