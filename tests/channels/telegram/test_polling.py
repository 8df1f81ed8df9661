"""The bot's own getUpdates loop: it survives network trouble and confirms only what it stored."""

from __future__ import annotations

from bot.channels.telegram.runtime import TelegramBot

from .fake_bot_api import FakeTelegram

ANNA = 4711


async def test_a_failing_getupdates_is_retried_and_nothing_is_lost(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    fake.time_out("getUpdates", times=1)
    fake.fail("getUpdates", 502, "Bad Gateway", times=1)
    fake.private_message(fake.user(ANNA, "Anna", "de"), "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)), within=10)


async def test_the_offset_confirms_exactly_the_stored_updates(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    first = fake.update_id_of(fake.private_message(anna, "Wo finde ich meine Rechnung?"))
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)))
    await fake.wait_for(lambda: any(c.params.get("offset") == first + 1 for c in fake.calls_to("getUpdates")))
    offsets = [int(c.params.get("offset") or 0) for c in fake.calls_to("getUpdates")]
    assert max(offsets) == first + 1  # never past what was committed
    assert (await bot.db.inbox_counts())["done"] == 1
