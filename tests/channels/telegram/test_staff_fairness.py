"""The staff group under its 20-a-minute limit: new tickets first, piled-up mirrors batched, nothing dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.channels.base import Inbound
from bot.channels.telegram.app import TelegramApp, build_application
from bot.channels.telegram.config import TelegramConfig
from bot.channels.telegram.threads import ReplyThreads
from bot.channels.telegram.topics import TopicRelay
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.core.policy import HUMAN
from bot.service.engine import ConversationService
from bot.storage import Database

from .conftest import quick_rate_limiter
from .fake_bot_api import STAFF_CHAT_ID, FakeRequest, FakeTelegram

ANNA, BEN = 4711, 4712


@pytest.fixture
async def app(fake: FakeTelegram, config: TelegramConfig) -> AsyncIterator[TelegramApp]:
    application = build_application(
        config,
        request=FakeRequest(fake),
        get_updates_request=FakeRequest(fake),
        rate_limiter=quick_rate_limiter(),
    )
    async with application:
        yield application


def said(user: int, name: str, text: str, number: int, payload: str | None = None) -> Inbound:
    return Inbound(
        channel="telegram",
        user_id=str(user),
        display_name=name,
        language_hint="de",
        text=text,
        payload=payload,
        message_id=str(number),
        received_at=datetime.now(UTC),
    )


async def test_a_new_ticket_goes_ahead_of_a_backlog_of_mirrors_which_is_batched_not_dropped(
    fake: FakeTelegram, app: TelegramApp, config: TelegramConfig
) -> None:
    async with await Database.open(config.database) as db:
        engine = ConversationService(db, Brain.build(load_folder(config.intents).content), notify_staff=True)
        relay = TopicRelay(db, app.bot, STAFF_CHAT_ID, ReplyThreads())
        await engine.handle(said(ANNA, "Anna", "/human", 1, payload=HUMAN))
        await relay.run_once()
        (anna_topic,) = fake.topics()
        # The staff group is throttled while Anna writes 100 messages and then Ben asks for a human.
        for n in range(100):
            await engine.handle(said(ANNA, "Anna", f"Nachricht {n}", 2 + n))
        await engine.handle(said(BEN, "Ben", "/human", 1, payload=HUMAN))
        calls_before = len(fake.calls)
        await relay.run_once()

    calls = fake.calls[calls_before:]
    ben_topic = next((i for i, c in enumerate(calls) if c.method == "createForumTopic"), len(calls))
    mirrors = [
        i
        for i, c in enumerate(calls)
        if c.method == "sendMessage" and c.params.get("message_thread_id") == anna_topic.thread_id
    ]
    assert mirrors and ben_topic < mirrors[0]  # Ben's topic did not wait for Anna's 100 messages
    assert len(mirrors) == 5  # 100 piled-up messages in batches of 20 lines
    mirrored = "\n".join(fake.texts(STAFF_CHAT_ID, anna_topic.thread_id))
    assert all(f"• Nachricht {n}\n" in mirrored + "\n" for n in range(100))  # nothing dropped
    assert mirrored.index("Nachricht 9\n") < mirrored.index("Nachricht 10\n")  # in order


async def test_a_single_mirrored_message_keeps_its_plain_form(
    fake: FakeTelegram, app: TelegramApp, config: TelegramConfig
) -> None:
    async with await Database.open(config.database) as db:
        engine = ConversationService(db, Brain.build(load_folder(config.intents).content), notify_staff=True)
        relay = TopicRelay(db, app.bot, STAFF_CHAT_ID, ReplyThreads())
        await engine.handle(said(ANNA, "Anna", "/human", 1, payload=HUMAN))
        await relay.run_once()
        await engine.handle(said(ANNA, "Anna", "Meine Kundennummer ist 12345", 2))
        await relay.run_once()
    (topic,) = fake.topics()
    assert fake.texts(STAFF_CHAT_ID, topic.thread_id)[-1] == "💬 Anna:\nMeine Kundennummer ist 12345"
