"""The Telegram runtime counts into one set of metrics: messages in and out, turns, and every 429."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.channels.telegram.runtime import TelegramBot

from .fake_bot_api import FakeTelegram

ANNA = 4711


def samples(bot: TelegramBot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(bot.metrics.registry).decode()
    return {
        (found.name, tuple(sorted(found.labels.items()))): float(found.value)
        for family in text_string_to_metric_families(text)
        for found in family.samples
    }


async def test_429s_are_counted_each_time_also_those_the_limiter_waits_out(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    assert bot.conversation.metrics is bot.metrics and bot.sender.metrics is bot.metrics
    fake.fail("sendMessage", 429, retry_after=0.01, times=2)
    fake.private_message(fake.user(ANNA, "Anna", "de"), "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)))
    out = ("carebot_messages_out_total", (("channel", "telegram"),))
    await fake.wait_for(lambda: samples(bot).get(out, 0) >= 2)  # the greeting and the answer
    found = samples(bot)
    assert found[("carebot_telegram_429_total", (("scope", "private"),))] == 2
    assert found[("carebot_messages_in_total", (("channel", "telegram"),))] == 1
    assert found[("carebot_turn_seconds_count", (("channel", "telegram"),))] == 1
    assert found[out] == len(fake.sent(ANNA)) == 2
