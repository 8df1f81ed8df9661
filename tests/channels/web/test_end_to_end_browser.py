"""Issue #15 end to end: a customer in the widget and an agent in the inbox, two browsers, one bot.

The app is built as ``python -m bot`` builds it without Telegram (:func:`bot.cli.run.web_service`: the
widget's WebServer with the inbox's routes, one event loop, one engine whose enqueued replies wake the
sender), on a real SQLite file with the shipped intents folder, served by uvicorn on a free port in this
test's loop. Nothing here pokes the sender or the database to move things along: what reaches a browser
gets there the way it does in production. Without Chromium the test skips locally and fails in CI.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.channels.web.config import WebConfig
from bot.channels.web.runtime import WebServer
from bot.cli.run import web_service
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.service.accounts import AccountService
from bot.storage import Database
from tests.channels.web.inbox.conftest import FAST, PASSWORD

try:
    from playwright.async_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture (conftest.py) skips, or fails in CI
    expect = None

ROOT = Path(__file__).resolve().parents[3]
WAIT = 15_000  # ms: generous for a loaded 2-core machine; nothing here is a timing assertion


@cache
def shipped_brain() -> Brain:
    return Brain.build(load_folder(ROOT / "intents").content)


@dataclass
class Bot:
    url: str
    db: Database
    server: WebServer

    async def scalar(self, sql: str, *params: object) -> Any:
        async with self.db.snapshot() as tx:
            row = await tx.fetch_one(sql, params)
        assert row is not None
        return row[0]

    async def delivered(self, text: str) -> None:
        """Wait until the web sender has handed ``text`` on (to a socket, or to the replay log when none is
        open); polls the database, the sender runs by itself."""
        for _ in range(300):
            pending = await self.scalar(
                "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id"
                " WHERE m.text LIKE ? AND o.status = 'pending'",
                f"%{text}%",
            )
            if pending == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{text!r} was never delivered")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    db = await Database.open(tmp_path / "bot.db")
    await AccountService(db, hasher=FAST).add("Alice", PASSWORD)
    _, server = web_service(db, await asyncio.to_thread(shipped_brain), WebConfig(port=0))
    server.bind()
    stop = asyncio.Event()
    serving = asyncio.create_task(server.serve(stop))
    try:
        yield Bot(server.url, db, server)
    finally:
        stop.set()
        await serving
        await db.close()


async def test_a_customer_and_an_agent_in_two_browsers(bot: Bot, browser: Any) -> None:
    problems: list[str] = []

    def watch(page: Any) -> Any:
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.set_default_timeout(WAIT)
        return page

    customer = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 760})
    widget = watch(await customer.new_page())
    agent = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 860})
    inbox = watch(await agent.new_page())

    # The customer asks a German FAQ on the sample page and gets the answer.
    await widget.goto(bot.url + "/")
    await widget.get_by_role("button", name=re.compile("Chat")).click()
    log = widget.get_by_role("log")
    await expect(log).to_contain_text("automatische Assistent", timeout=WAIT)
    box, send = widget.get_by_role("textbox", name="Nachricht"), widget.get_by_role("button", name="Senden")

    async def write(text: str) -> None:
        await box.fill(text)
        await send.click()

    await write("Wie lade ich meine Rechnung herunter?")
    await expect(log).to_contain_text("Kundencenter", timeout=WAIT)

    # The agent logs in to the inbox in a second browser context; the queue is empty.
    await inbox.goto(bot.url + "/inbox")
    await expect(inbox).to_have_url(bot.url + "/login", timeout=WAIT)
    await inbox.get_by_label("Name").fill("Alice")
    await inbox.get_by_label("Password").fill(PASSWORD)
    await inbox.get_by_role("button", name="Log in").click()
    await expect(inbox).to_have_url(bot.url + "/inbox", timeout=WAIT)
    await expect(inbox.locator("#live")).to_have_text("live", timeout=WAIT)
    await expect(inbox.locator("#count-all")).to_have_text("0", timeout=WAIT)

    # The customer asks for a person and sees a ticket number; the ticket appears in the inbox live.
    await write("Ich möchte mit einem Mitarbeiter sprechen")
    await expect(widget.get_by_role("status")).to_contain_text(re.compile(r"Vorgang \d+"), timeout=WAIT)
    ticket = int(await bot.scalar("SELECT max(id) FROM tickets"))
    await expect(log).to_contain_text(f"Vorgangsnummer: {ticket}", timeout=WAIT)
    item = inbox.locator(f'.ticket-item[data-id="{ticket}"]')
    await expect(item).to_be_visible(timeout=WAIT)  # no reload: the inbox's event stream brought it
    await expect(inbox.get_by_role("status")).to_contain_text(f"New ticket: #{ticket}", timeout=WAIT)

    # The agent opens it (what the bot tried is shown) and replies; the reply appears live in the widget.
    await item.click()
    await expect(inbox.locator("#messages")).to_contain_text("Ich möchte mit einem Mitarbeiter sprechen")
    reply = inbox.get_by_label("Reply to the customer")
    await reply.fill("Hallo, ich bin Alice und kümmere mich darum.")
    await inbox.get_by_role("button", name="Send reply").click()
    await expect(inbox.get_by_role("status")).to_have_text(f"Reply to #{ticket} queued for delivery.")
    from_team = log.locator(".msg.agent")
    await expect(from_team).to_contain_text("Hallo, ich bin Alice und kümmere mich darum.", timeout=WAIT)
    await expect(from_team).to_contain_text("Alice aus dem Team")

    # Resolve in the inbox: the widget offers ratings, the customer rates, the rating is stored.
    await inbox.get_by_role("button", name="Resolve", exact=False).first.click()
    await expect(inbox.get_by_role("status")).to_contain_text(f"#{ticket} resolved")
    await widget.get_by_role("button", name="5", exact=True).click()
    await expect(log).to_contain_text("5 von 5", timeout=WAIT)
    assert await bot.scalar("SELECT rating FROM ratings WHERE ticket_id = ?", ticket) == 5
    await expect(inbox.locator("#ticket-meta")).to_contain_text("resolved")
    # The hand-over message's "never mind" has nothing left to withdraw: the widget switches it off.
    await expect(widget.get_by_role("button", name="Hat sich erledigt")).to_be_disabled()

    # The customer goes offline; the agent reopens the ticket and replies again. Back online, the widget
    # shows that reply exactly once.
    await customer.set_offline(True)
    await expect(widget.get_by_role("alert")).to_contain_text("Keine Verbindung", timeout=WAIT)
    await inbox.get_by_role("button", name="Reopen").click()
    await expect(inbox.get_by_role("status")).to_contain_text(f"#{ticket}")
    await expect(inbox.get_by_role("button", name="Reopen")).to_be_disabled()
    await reply.fill("Eine Nachfrage, während Sie offline waren.")
    await inbox.get_by_role("button", name="Send reply").click()
    await expect(inbox.get_by_role("status")).to_have_text(f"Reply to #{ticket} queued for delivery.")
    await bot.delivered("Eine Nachfrage, während Sie offline waren.")
    await customer.set_offline(False)
    await expect(log.get_by_text("Eine Nachfrage, während Sie offline waren.")).to_have_count(1, timeout=WAIT)
    await expect(from_team).to_have_count(2)
    assert await bot.scalar("SELECT status FROM tickets WHERE id = ?", ticket) == "assigned"

    assert not problems, problems  # no script errors, no Content-Security-Policy violations
    await agent.close()
    await customer.close()
