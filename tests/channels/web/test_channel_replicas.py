"""The web channel across replicas: a reply sent by replica A wakes the widget connected to replica B."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.channels.base import Outbound
from bot.channels.web.channel import WebChannel
from bot.core.model import Author
from bot.storage import Database
from bot.storage.notify import Notifications


async def test_a_reply_sent_on_one_replica_wakes_the_connection_held_by_another(db: Database) -> None:
    async with await Database.open(db.location) as other:
        a = WebChannel(Notifications(db, owner="A"))
        b_notifications = Notifications(other, owner="B", poll=0.05)
        b = WebChannel(b_notifications)
        stop = asyncio.Event()
        listening = asyncio.create_task(b_notifications.run(stop))
        try:
            await asyncio.wait_for(b_notifications.connected.wait(), 10)
            with b.listen("visitor-1") as event, b.listen("visitor-2") as unrelated:
                await asyncio.sleep(0.2)  # past the wake-everyone of a fresh connection
                event.clear()
                unrelated.clear()
                customer = await db.upsert_customer("web", "visitor-1", "V", "de")
                await db.enqueue_outbound(customer.id, text="Hallo", author=Author.BOT, now=datetime.now(UTC))
                await a.send("visitor-1", Outbound("Hallo"))
                await asyncio.wait_for(event.wait(), 10)  # a bound, not a speed claim
                if db.engine == "postgresql":
                    assert not unrelated.is_set()  # NOTIFY names the visitor; SQLite's poll wakes all
        finally:
            stop.set()
            await asyncio.wait_for(listening, 10)
