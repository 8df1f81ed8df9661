"""Telegram delivery marks a reply as being sent when the request leaves, after the rate limiter's wait."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from bot.channels.telegram.app import build_application
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.config import TelegramConfig
from bot.core.model import Author
from bot.service.delivery import OutboxSender
from bot.storage import Database

from .conftest import quick_rate_limiter
from .fake_bot_api import FakeRequest, FakeTelegram

ANNA = 4711


async def test_the_mark_is_committed_when_the_request_reaches_telegram(
    fake: FakeTelegram, config: TelegramConfig
) -> None:
    fake.private_message(fake.user(ANNA), "/start")  # the chat exists once the customer wrote
    seen: list[object] = []

    def observe(method: str, params: dict[str, object]) -> None:
        if method == "sendMessage":
            # What a process started after a SIGKILL at this instant would read from the file.
            with sqlite3.connect(config.database) as conn:
                seen.append(conn.execute("SELECT sending_since FROM outbox_sending").fetchone())

    fake.observers.append(observe)
    app = build_application(config, request=FakeRequest(fake), rate_limiter=quick_rate_limiter())
    async with app, await Database.open(config.database) as db:
        customer = await db.upsert_customer("telegram", str(ANNA), "Anna", "de")
        await db.enqueue_outbound(customer.id, text="Hallo", author=Author.BOT, now=datetime.now(UTC))
        assert await OutboxSender(db, {"telegram": TelegramChannel(app.bot)}).run_once() == 1
        assert await db.delivery_marks() == (0, 0)  # and cleared once Telegram accepted it
    assert len(seen) == 1 and seen[0] is not None and seen[0][0]  # type: ignore[index]
