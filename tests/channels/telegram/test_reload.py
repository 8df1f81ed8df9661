"""Editors change the intents folder while the bot runs: /reload applies it now, errors reach the staff group."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.runtime import TelegramBot

from .conftest import FIXTURES
from .fake_bot_api import STAFF_CHAT_ID, FakeTelegram


@pytest.fixture
def config(config: TelegramConfig, tmp_path: Path) -> TelegramConfig:
    """The conftest configuration, with an intents folder this test may edit."""
    shutil.copytree(FIXTURES / "intents", tmp_path / "intents")
    return dataclasses.replace(config, intents=tmp_path / "intents")


def _general(fake: FakeTelegram) -> list[str]:
    return [m["text"] for m in fake.sent(STAFF_CHAT_ID) if "message_thread_id" not in m]


async def test_reload_serves_new_answers_and_reports_errors(
    fake: FakeTelegram, bot: TelegramBot, config: TelegramConfig
) -> None:
    kim = fake.user(501, "Kim", "en")
    fake.set_member(501, "member")
    faq = config.intents / "faq.yaml"
    faq.write_text(faq.read_text().replace("im Kundencenter", "im neuen Kundenportal"))
    fake.group_message(kim, "/reload")
    # "reloaded", or "no change" when the watcher's own first look already picked the edit up.
    (outcome,) = await fake.wait_for(lambda: _general(fake))
    assert outcome.startswith(("reloaded", "no change")) and "4 intents" in outcome
    fake.private_message(fake.user(4711, "Anna", "de"), "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("neuen Kundenportal" in t for t in fake.texts(4711)))

    faq.write_text(faq.read_text() + "\nintents: [oops\n")
    fake.group_message(kim, "/reload")
    warning = await fake.wait_for(lambda: [t for t in _general(fake) if t.startswith("⚠️")])
    assert "faq.yaml" in warning[0]
    await fake.wait_for(lambda: any("still serving the last good version" in t for t in _general(fake)[-2:]))
