"""Fixtures: a fresh fake Telegram per test, and the configuration the bot would read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.ext import AIORateLimiter

from bot.channels.telegram.config import TelegramConfig

from .fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeTelegram

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def config(tmp_path: Path) -> TelegramConfig:
    return TelegramConfig(
        token=TOKEN, staff_chat_id=STAFF_CHAT_ID, database=tmp_path / "bot.db", intents=FIXTURES / "intents"
    )


def quick_rate_limiter() -> AIORateLimiter:
    """PTB's real limiter with its retries on 429, minus the throttling that would only slow the tests."""
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
