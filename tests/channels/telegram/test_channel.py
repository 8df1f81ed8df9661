"""Delivery to customers through the real PTB bot, against the fake Bot API (and once over the wire)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram.error import BadRequest
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest

from bot.channels.base import Button, DeliveryError, Outbound
from bot.channels.telegram.app import SplitRateLimiter, TelegramApp, build_application
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.topics import topic_lost

from .conftest import quick_rate_limiter
from .fake_bot_api import STAFF_CHAT_ID, FakeRequest, FakeTelegram, mock_transport

CUSTOMER = 4711


@pytest.fixture
async def app(fake: FakeTelegram, config: TelegramConfig) -> AsyncIterator[TelegramApp]:
    application = build_application(
        config,
        request=FakeRequest(fake),
        get_updates_request=FakeRequest(fake),
        rate_limiter=quick_rate_limiter(),
    )
    fake.private_message(fake.user(CUSTOMER), "/start")  # the chat exists once the customer wrote
    async with application:
        yield application


async def test_send_plain_text_with_buttons(fake: FakeTelegram, app: TelegramApp) -> None:
    channel = TelegramChannel(app.bot)
    text = "Tarife <b>nicht</b> fett & *auch nicht* kursiv"
    message_id = await channel.send(str(CUSTOMER), Outbound(text, (Button("Mensch", "human"),)))
    (sent,) = fake.sent(CUSTOMER)
    assert sent["text"] == text
    assert "parse_mode" not in sent
    assert sent["reply_markup"]["inline_keyboard"] == [[{"text": "Mensch", "callback_data": "human"}]]
    assert message_id == str(sent["message_id"])


async def test_long_reply_is_split_and_buttons_go_last(fake: FakeTelegram, app: TelegramApp) -> None:
    text = "\n\n".join(f"Absatz {n}. " + "Text " * 300 for n in range(6))
    await TelegramChannel(app.bot).send(str(CUSTOMER), Outbound(text, (Button("Mensch", "human"),)))
    sent = fake.sent(CUSTOMER)
    assert len(sent) > 1
    assert ["reply_markup" in m for m in sent] == [False] * (len(sent) - 1) + [True]
    assert " ".join(" ".join(m["text"] for m in sent).split()) == " ".join(text.split())


async def test_a_long_reply_interrupted_half_way_continues_without_repeating(
    fake: FakeTelegram, app: TelegramApp
) -> None:
    channel = TelegramChannel(app.bot)
    text = "\n\n".join(f"Absatz {n}. " + "Text " * 700 for n in range(3))
    fake.time_out("sendMessage", when=lambda params: str(params["text"]).startswith("Absatz 1."))
    with pytest.raises(DeliveryError):
        await channel.send(str(CUSTOMER), Outbound(text))
    await channel.send(str(CUSTOMER), Outbound(text))
    assert [m["text"][:9] for m in fake.sent(CUSTOMER)] == ["Absatz 0.", "Absatz 1.", "Absatz 2."]


async def test_a_few_429s_are_waited_out(fake: FakeTelegram, app: TelegramApp) -> None:
    fake.fail("sendMessage", 429, retry_after=0.01, times=2)
    await TelegramChannel(app.bot).send(str(CUSTOMER), Outbound("Hallo"))
    assert fake.texts(CUSTOMER) == ["Hallo"]
    assert [c.failed is not None for c in fake.calls_to("sendMessage")] == [True, True, False]


async def test_persistent_flood_control_tells_the_outbox_when_to_retry(
    fake: FakeTelegram, app: TelegramApp
) -> None:
    fake.fail("sendMessage", 429, retry_after=0.01, times=10)
    with pytest.raises(DeliveryError) as caught:
        await TelegramChannel(app.bot).send(str(CUSTOMER), Outbound("Hallo"))
    assert caught.value.retry_after == pytest.approx(0.01)
    assert not caught.value.permanent


async def test_blocked_by_the_customer_is_permanent(fake: FakeTelegram, app: TelegramApp) -> None:
    fake.blocked.add(CUSTOMER)
    with pytest.raises(DeliveryError) as caught:
        await TelegramChannel(app.bot).send(str(CUSTOMER), Outbound("Hallo"))
    assert caught.value.permanent


async def test_timeout_is_retried_later(fake: FakeTelegram, app: TelegramApp) -> None:
    fake.time_out("sendMessage")
    with pytest.raises(DeliveryError) as caught:
        await TelegramChannel(app.bot).send(str(CUSTOMER), Outbound("Hallo"))
    assert not caught.value.permanent and caught.value.retry_after is None


async def test_typing_failure_is_harmless(fake: FakeTelegram, app: TelegramApp) -> None:
    fake.fail("sendChatAction", 400, "Bad Request: chat not found")
    await TelegramChannel(app.bot).typing(CUSTOMER)
    assert fake.calls_to("sendChatAction", action="typing")


async def test_wire_level_through_httpx(fake: FakeTelegram, config: TelegramConfig) -> None:
    """PTB's own HTTPXRequest encodes the call; the fake decodes it as Telegram's server would."""
    request = HTTPXRequest(httpx_kwargs={"transport": mock_transport(fake)})
    application = build_application(config, request=request, rate_limiter=quick_rate_limiter())
    fake.private_message(fake.user(CUSTOMER), "/start")
    async with application:
        fake.fail("sendMessage", 429, retry_after=0.01)
        await TelegramChannel(application.bot).send(
            str(CUSTOMER), Outbound("Grüße & <Küsse>", (Button("Rechnung", "intent:invoice_copy"),))
        )
    (sent,) = fake.sent(CUSTOMER)
    assert sent["text"] == "Grüße & <Küsse>"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "intent:invoice_copy"
    assert [c.method for c in fake.calls][:1] == ["getMe"]


async def test_wire_level_errors_map_like_telegrams(fake: FakeTelegram, config: TelegramConfig) -> None:
    """Telegram's JSON error bodies, decoded by PTB's HTTPXRequest, reach the outbox as the right verdicts."""
    request = HTTPXRequest(httpx_kwargs={"transport": mock_transport(fake)})
    application = build_application(config, request=request, rate_limiter=quick_rate_limiter())
    fake.private_message(fake.user(CUSTOMER), "/start")
    async with application:
        channel = TelegramChannel(application.bot)
        fake.fail("sendMessage", 429, retry_after=0.01, times=4)
        with pytest.raises(DeliveryError) as flood:
            await channel.send(str(CUSTOMER), Outbound("Hallo"))
        fake.blocked.add(CUSTOMER)
        with pytest.raises(DeliveryError) as blocked:
            await channel.send(str(CUSTOMER), Outbound("Hallo"))
        fake.blocked.clear()
        fake.time_out("sendMessage")
        with pytest.raises(DeliveryError) as timed_out:
            await channel.send(str(CUSTOMER), Outbound("Hallo"))
        with pytest.raises(BadRequest) as lost:
            await application.bot.send_message(STAFF_CHAT_ID, "x", message_thread_id=999)
    assert flood.value.retry_after == pytest.approx(0.01) and not flood.value.permanent
    assert blocked.value.permanent
    assert not timed_out.value.permanent and timed_out.value.retry_after is None
    assert topic_lost(lost.value)


async def test_a_throttled_group_holds_up_only_its_own_messages(
    fake: FakeTelegram, config: TelegramConfig
) -> None:
    """With the group's budget used up, customers' messages and staff checks still go out at once."""
    limiter = SplitRateLimiter(
        AIORateLimiter(overall_max_rate=0, group_max_rate=0),
        AIORateLimiter(overall_max_rate=0, group_max_rate=1, group_time_period=60),
    )
    application = build_application(
        config, request=FakeRequest(fake), get_updates_request=FakeRequest(fake), rate_limiter=limiter
    )
    fake.private_message(fake.user(CUSTOMER), "/start")
    async with application:
        await application.bot.send_message(STAFF_CHAT_ID, "first")
        waiting = asyncio.create_task(application.bot.send_message(STAFF_CHAT_ID, "second"))
        async with asyncio.timeout(2):
            await application.bot.get_chat_member(STAFF_CHAT_ID, 501)
            await TelegramChannel(application.bot).send(str(CUSTOMER), Outbound("Hallo"))
        assert not waiting.done()
        waiting.cancel()
    assert fake.texts(STAFF_CHAT_ID) == ["first"]
    assert fake.texts(CUSTOMER) == ["Hallo"]
