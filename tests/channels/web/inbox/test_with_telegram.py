"""One set of rules across surfaces: the real Telegram bot (python-telegram-bot against the in-repo fake Bot
API) and the inbox on the same database and event loop. An inbox reply reaches the Telegram customer and
shows in the ticket's topic as "Alice (inbox)"; a reply written in the topic shows in the inbox."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from bot.channels.telegram.runtime import TelegramBot
from bot.channels.web.inbox import InboxDeps, inbox_routes
from bot.service.accounts import AccountService
from tests.channels.telegram.conftest import bot, config, fake  # noqa: F401  (the Telegram fixtures)
from tests.channels.telegram.fake_bot_api import STAFF_CHAT_ID, FakeTelegram
from tests.channels.web.inbox.conftest import FAST, PASSWORD

ANNA = 4711
KIM = 501


async def test_inbox_and_telegram_staff_see_each_other(fake: FakeTelegram, bot: TelegramBot) -> None:  # noqa: F811
    kim = fake.user(KIM, "Kim", "en")
    fake.set_member(KIM, "member")
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    await fake.wait_for(lambda: any("Vorgang" in t for t in fake.texts(ANNA)))

    accounts = AccountService(bot.db, hasher=FAST)
    await accounts.add("Alice", PASSWORD)
    auth = {"Authorization": f"Bearer {await accounts.new_token('Alice')}"}
    deps = InboxDeps(
        db=bot.db, renderer=lambda: bot.conversation.brain.renderer, notify_staff=True, wake=bot.wake
    )
    app = Starlette(routes=inbox_routes(deps))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inbox") as inbox:
        fake.group_message(kim, "Ich schaue es mir an.", thread_id=topic.thread_id)
        await fake.wait_for(lambda: any("Ich schaue es mir an." in t for t in fake.texts(ANNA)))
        detail = (await inbox.get("/api/tickets/1", headers=auth)).json()
        assert [(m["agent"], m["text"]) for m in detail["messages"] if m["author"] == "agent"] == [
            ("Kim", detail["messages"][-1]["text"])
        ]
        assert "Ich schaue es mir an." in detail["messages"][-1]["text"]
        assert detail["warnings"] == ["Kim holds this ticket (assigned)."]

        taken = await inbox.post("/api/tickets/1/claim", headers=auth, json={"force": True})
        assert taken.status_code == 200
        replied = await inbox.post(
            "/api/tickets/1/reply", headers=auth, json={"text": "Die Rechnung ist unterwegs."}
        )
        assert replied.status_code == 200

    answer = await fake.wait_for(lambda: [t for t in fake.texts(ANNA) if "Die Rechnung ist unterwegs." in t])
    assert "Alice" in answer[0]
    posted = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if "(inbox)" in t and "replied" in t]
    )
    assert posted == ["↩️ Alice (inbox) replied:\nDie Rechnung ist unterwegs."]
    assert any(
        t.startswith("✋ Alice (inbox) took the ticket (taken over from Kim)")
        for t in fake.texts(STAFF_CHAT_ID, topic.thread_id)
    )
