"""Updates the bot cannot parse or handle are poisoned once, logged once, and never hold up anyone else."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.runtime import TelegramBot
from bot.cli import main

from .fake_bot_api import FakeTelegram

ANNA, BEN = 4711, 4712
SECRET_TEXT = "IBAN DE89 3704 0044 0532 0130 00"


def _chat(user_id: int) -> dict[str, object]:
    return {"id": user_id, "type": "private", "first_name": "Anna"}


def no_date(fake: FakeTelegram) -> dict[str, object]:
    """A message without ``date``: PTB's Message.de_json raises KeyError."""
    return fake.raw_update(
        "message",
        {"message_id": 900, "chat": _chat(ANNA), "from": fake.user(ANNA), "text": SECRET_TEXT},
    )


def poll_without_persistent_id(fake: FakeTelegram) -> dict[str, object]:
    """A poll whose options lack ``persistent_id``, which PTB 22.8 requires (TypeError)."""
    poll = {
        "id": "77",
        "question": SECRET_TEXT,
        "options": [{"text": SECRET_TEXT, "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    return fake.raw_update(
        "message",
        {
            "message_id": 901,
            "date": int(time.time()),
            "chat": _chat(ANNA),
            "from": fake.user(ANNA),
            "poll": poll,
        },
    )


@pytest.mark.parametrize("poison", [no_date, poll_without_persistent_id])
async def test_an_unparsable_update_is_skipped_logged_once_and_the_next_customer_is_answered(
    poison: object,
    fake: FakeTelegram,
    bot: TelegramBot,
    config: TelegramConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    assert callable(poison)
    bad = poison(fake)
    fake.private_message(fake.user(BEN, "Ben", "de"), "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(BEN)), within=5)
    await asyncio.sleep(0.3)  # time for a hot loop to show itself, if there were one
    skipped = [r for r in caplog.records if "poisoned" in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.WARNING
    assert skipped[0].getMessage().startswith(f"handling update {bad['update_id']} in chat {ANNA} failed")
    assert all(SECRET_TEXT not in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert len(fake.calls_to("getUpdates")) < 30  # the offset moved past it: no getUpdates storm
    assert await bot.db.inbox_counts() == {"pending": 0, "done": 1, "poisoned": 1}


async def test_an_update_whose_handler_always_fails_is_poisoned_once_and_the_chat_goes_on(
    fake: FakeTelegram, bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    async def explode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        calls.append(update.update_id)
        raise RuntimeError("boom")

    bot.app.add_handler(MessageHandler(filters.Regex("^explode$"), explode), group=-1)
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "explode")
    fake.private_message(anna, "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)), within=5)
    assert len(calls) == 3  # tried three times, then skipped; the same chat's next message followed
    assert len([r for r in caplog.records if "poisoned" in r.getMessage()]) == 1
    assert (await bot.db.inbox_counts())["poisoned"] == 1


async def test_db_status_shows_the_poisoned_count(
    fake: FakeTelegram, bot: TelegramBot, config: TelegramConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    no_date(fake)
    fake.private_message(fake.user(BEN, "Ben", "de"), "/start")
    await fake.wait_for(lambda: fake.texts(BEN), within=5)
    code = await asyncio.to_thread(main, ["db", "status", "--db", str(Path(config.database))])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "inbox: 0 update(s) pending, 1 poisoned" in out
