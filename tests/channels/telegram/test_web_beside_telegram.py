"""Telegram and the web widget in one process: a widget customer's ticket gets a topic in the staff group,
and what staff write in that topic reaches the widget live (one engine, one database, two outboxes)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from bot.channels.telegram.runtime import TelegramBot
from bot.channels.web.config import WebConfig
from bot.channels.web.runtime import WebServer

from .fake_bot_api import STAFF_CHAT_ID, FakeTelegram

KIM = 501


async def _until(ws: Any, wanted: Any) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if wanted(frame):
            return frame


async def test_a_reply_in_the_telegram_topic_reaches_the_widget(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim = fake.user(KIM, "Kim", "de")
    fake.set_member(KIM, "member")
    web = WebServer(bot.db, bot.conversation, WebConfig(port=0))
    web.bind()
    stop = asyncio.Event()
    serving = asyncio.create_task(web.serve(stop))
    try:
        async with httpx.AsyncClient(base_url=web.url) as client:
            token = (await client.post("/widget/token")).json()["token"]
        async with websockets.connect(web.url.replace("http", "ws") + "/widget/ws") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 0, "lang": "de"}))
            await _until(ws, lambda f: f["type"] == "status")
            await ws.send(json.dumps({"type": "message", "id": "c1", "text": "/human"}))
            status = await _until(ws, lambda f: f["type"] == "status" and f["ticket"] is not None)
            ticket_id = status["ticket"]["id"]
            (topic,) = await fake.wait_for(fake.topics)
            card = (await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID, topic.thread_id)))[0]
            assert f"#{ticket_id}" in card["text"] and "web" in card["text"]
            fake.group_message(kim, "Hallo aus der Telegram-Gruppe!", thread_id=topic.thread_id)
            reply = await _until(ws, lambda f: f["type"] == "message" and f["author"] == "agent")
            assert "Hallo aus der Telegram-Gruppe!" in reply["text"] and reply["agent"] == "Kim"
    finally:
        stop.set()
        await serving
