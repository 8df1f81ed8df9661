"""Flood control and network trouble: answers are late, never lost, never out of order."""

from __future__ import annotations

from bot.channels.telegram.runtime import TelegramBot

from .fake_bot_api import STAFF_CHAT_ID, FakeTelegram

ANNA = 4711


async def test_a_burst_of_429s_loses_nothing(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    # More 429s than PTB's rate limiter retries: the outbox has to reschedule as Telegram says.
    fake.fail("sendMessage", 429, retry_after=0.02, times=12)
    questions = ["Wo finde ich meine Rechnung?", "Meine Rechnung ist falsch", "Rechnung herunterladen"]
    for question in questions:
        fake.private_message(anna, question)
    texts = await fake.wait_for(lambda: len(fake.texts(ANNA)) >= 4 and fake.texts(ANNA), within=10)
    assert len(texts) == 4  # greeting and three answers, each exactly once
    assert "Kundencenter" in texts[1] and "Rechnungsnummer" in texts[2] and "Kundencenter" in texts[3]
    assert sum(1 for call in fake.calls_to("sendMessage") if call.failed) == 12


async def test_staff_group_flood_control_does_not_delay_customers(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    fake.fail("createForumTopic", 429, retry_after=2, times=1)
    anna, ben = fake.user(ANNA, "Anna", "de"), fake.user(4712, "Ben", "de")
    fake.private_message(anna, "/human")
    await fake.wait_for(lambda: any("Vorgang" in t for t in fake.texts(ANNA)))
    fake.private_message(ben, "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(4712)), within=1.5)
    assert fake.topics() == []  # the staff group is still waiting out its 429
    await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID), within=5)


async def test_timeouts_are_retried(fake: FakeTelegram, bot: TelegramBot) -> None:
    fake.time_out("sendMessage", times=2)
    fake.private_message(fake.user(ANNA, "Anna", "de"), "Wo finde ich meine Rechnung?")
    texts = await fake.wait_for(lambda: len(fake.texts(ANNA)) >= 2 and fake.texts(ANNA), within=10)
    assert "Kundencenter" in texts[-1]
