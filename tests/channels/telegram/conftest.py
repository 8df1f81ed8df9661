"""Fixtures: a fresh fake Telegram per test, and the configuration the bot would read from the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.ext import AIORateLimiter

from bot.channels.telegram.app import RETRIES_ON_FLOOD, SplitRateLimiter
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.runtime import TelegramBot
from bot.content.loader import load_folder
from bot.storage import Database

from .fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeRequest, FakeTelegram

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def config(tmp_path: Path) -> TelegramConfig:
    return TelegramConfig(
        token=TOKEN, staff_chat_id=STAFF_CHAT_ID, database=tmp_path / "bot.db", intents=FIXTURES / "intents"
    )


def quick_rate_limiter() -> SplitRateLimiter:
    """The production limiters with their retries on 429, minus the throttling that would only slow the tests."""
    return SplitRateLimiter(
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=RETRIES_ON_FLOOD),
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=RETRIES_ON_FLOOD),
    )


@pytest.fixture
async def bot(fake: FakeTelegram, config: TelegramConfig) -> AsyncIterator[TelegramBot]:
    """The real bot (Application, handlers, outbox, topic relay, watcher) polling the fake Telegram."""
    loaded = load_folder(config.intents)
    async with await Database.open(config.database) as db:
        telegram_bot = TelegramBot(
            config,
            db,
            loaded,
            request=FakeRequest(fake),
            get_updates_request=FakeRequest(fake),
            rate_limiter=quick_rate_limiter(),
        )
        async with telegram_bot.running(poll_timeout=1):
            yield telegram_bot
