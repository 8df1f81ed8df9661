"""Webhook mode: PTB's web server accepts updates only with the configured secret-token header."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import httpx

from bot.channels.telegram.config import TelegramConfig, Webhook
from bot.channels.telegram.runtime import TelegramBot
from bot.content.loader import load_folder
from bot.storage import Database

from .conftest import quick_rate_limiter
from .fake_bot_api import FakeRequest, FakeTelegram

SECRET = "hook-secret_123"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_checks_the_secret_token(
    fake: FakeTelegram, config: TelegramConfig, tmp_path: Path
) -> None:
    port = _free_port()
    config = dataclasses.replace(
        config, webhook=Webhook("https://bot.example.com/telegram", SECRET, "127.0.0.1", port)
    )
    anna = fake.user(4711, "Anna", "de")
    update = fake.private_message(anna, "Wo finde ich meine Rechnung?")
    body = {"update_id": 1, "message": update}
    fake.updates.clear()  # delivered by webhook, not by getUpdates
    async with await Database.open(config.database) as db:
        bot = TelegramBot(
            config,
            db,
            load_folder(config.intents),
            request=FakeRequest(fake),
            rate_limiter=quick_rate_limiter(),
        )
        async with bot.running(), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert fake.webhook == {"url": "https://bot.example.com/telegram", "secret_token": SECRET}
            missing = await client.post("/telegram", json=body)
            wrong = await client.post(
                "/telegram", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            assert (missing.status_code, wrong.status_code) == (403, 403)
            assert fake.texts(4711) == []
            right = await client.post(
                "/telegram", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert right.status_code == 200
            await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(4711)))
    assert not fake.calls_to("getUpdates")


async def test_the_webhook_stores_what_it_confirms_and_refuses_what_is_no_update(
    fake: FakeTelegram, config: TelegramConfig
) -> None:
    port = _free_port()
    config = dataclasses.replace(
        config, webhook=Webhook("https://bot.example.com/telegram", SECRET, "127.0.0.1", port)
    )
    anna = fake.user(4711, "Anna", "de")
    fake.raw_update("message", {"message_id": 5, "chat": {"id": 4711, "type": "private"}, "text": "x"})
    fake.private_message(anna, "Wo finde ich meine Rechnung?")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with await Database.open(config.database) as db:
        bot = TelegramBot(
            config,
            db,
            load_folder(config.intents),
            request=FakeRequest(fake),
            rate_limiter=quick_rate_limiter(),
        )
        async with bot.running(), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.post("/telegram", content=b"{not json", headers=headers)).status_code == 400
            assert (await client.post("/telegram", json={"message": {}}, headers=headers)).status_code == 400
            # Both updates, the unparsable one too, are confirmed once stored: Telegram must not resend them.
            assert await fake.push_to_webhook(f"http://127.0.0.1:{port}/telegram") == [200, 200]
            await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(4711)))
        assert (await db.inbox_counts())["poisoned"] == 1
