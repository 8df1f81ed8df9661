"""``GET /api/events``: live updates for the inbox page as Server-Sent Events.

The stream watches the database itself, not this process's memory: once a second it reads the highest
message, event and ticket ids and the latest ticket change. So a ticket created by the bot, a customer's
message, or an action taken with ``python -m bot queue`` in another process all show up within a second.
On PostgreSQL a trigger notifies ``carebot_inbox`` on every such change (migration 0010), so with
``InboxDeps.notifications`` a stream on any replica looks at once instead of at its next poll. Each event's
``id`` is that cursor; a browser reconnecting sends it back as ``Last-Event-ID`` and is told
about everything since, so nothing is missed between two streams. A stream ends after
``InboxDeps.stream_lifetime`` seconds and the browser reconnects by itself (no half-dead connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bot.channels.web.inbox.auth import Agent, Handler
from bot.channels.web.inbox.deps import InboxState
from bot.channels.web.inbox.http import ApiError, secured
from bot.storage import Database


@dataclass(frozen=True, slots=True)
class Cursor:
    message: int
    event: int
    ticket: int
    updated: str

    def text(self) -> str:
        return f"{self.message}.{self.event}.{self.ticket}.{self.updated}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        parts = text.strip().split(".", 3)
        if len(parts) != 4 or not all(p.isdigit() and len(p) < 19 for p in parts[:3]):
            return None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]), parts[3])


async def cursor(db: Database) -> Cursor:
    async with db.snapshot() as tx:
        row = await tx.fetch_one(
            "SELECT (SELECT coalesce(max(id), 0) FROM messages) AS m, (SELECT coalesce(max(id), 0) FROM events) AS e,"
            " (SELECT coalesce(max(id), 0) FROM tickets) AS t, (SELECT coalesce(max(updated_at), '') FROM tickets) AS u"
        )
    assert row is not None
    return Cursor(int(row["m"]), int(row["e"]), int(row["t"]), str(row["u"]))


async def changes(db: Database, since: Cursor) -> dict[str, list[int]]:
    """What happened after ``since``: new tickets, tickets with a new customer message, tickets touched."""
    async with db.snapshot() as tx:
        new = await tx.fetch_all("SELECT id FROM tickets WHERE id > ? ORDER BY id", (since.ticket,))
        messages = await tx.fetch_all(
            "SELECT DISTINCT ticket_id FROM messages WHERE id > ? AND author = 'customer' AND ticket_id IS NOT NULL",
            (since.message,),
        )
        touched = await tx.fetch_all(
            "SELECT ticket_id FROM messages WHERE id > ? AND ticket_id IS NOT NULL"
            " UNION SELECT ticket_id FROM events WHERE id > ? AND ticket_id IS NOT NULL"
            " UNION SELECT id FROM tickets WHERE updated_at > ?",
            (since.message, since.event, since.updated),
        )
    return {
        "new_tickets": [int(r["id"]) for r in new],
        "customer_messages": sorted(int(r["ticket_id"]) for r in messages),
        "tickets": sorted(int(r[0]) for r in touched),
    }


def _event(kind: str, at: Cursor, data: object) -> str:
    return f"id: {at.text()}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


TOPIC = "inbox"
"""The wake-up topic of the inbox's event streams (published by the database's trigger on PostgreSQL)."""

LISTENING_SLOWDOWN = 5
"""While the PostgreSQL listener is connected every change wakes the streams at once, so their poll is only
the safety net and runs this many times less often."""


class Pulse:
    """Wakes every waiting stream at once; a stream that was not waiting reads the cursor anyway."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self, _payload: str | None = None) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


def live_endpoint(state: InboxState) -> Handler:
    db = state.deps.db
    pulse = Pulse()
    notifications = state.deps.notifications
    if notifications is not None:
        notifications.subscribe(TOPIC, pulse.fire)

    def pause() -> float:
        listening = (
            notifications is not None
            and notifications.engine == "postgresql"
            and notifications.connected.is_set()
        )
        return state.deps.poll_interval * (LISTENING_SLOWDOWN if listening else 1)

    async def events(request: Request, agent: Agent) -> Response:
        raw = request.query_params.get("lifetime")
        lifetime = state.deps.stream_lifetime
        if raw is not None:
            try:
                lifetime = min(lifetime, max(0.0, float(raw)))
            except ValueError:
                raise ApiError(422, "lifetime: seconds, a number") from None
        resume = request.headers.get("last-event-id") or request.query_params.get("since") or ""
        last = Cursor.parse(resume) if resume else None

        async def stream() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + lifetime
            seen = last
            yield "retry: 2000\n\n"
            if seen is None:
                seen = await cursor(db)
                yield _event("hello", seen, {"agent": agent.name})
            while True:
                now = await cursor(db)
                if now != seen:
                    yield _event("change", now, await changes(db, seen))
                    seen = now
                if loop.time() >= deadline:
                    return
                await pulse.wait(pause())

        return secured(
            StreamingResponse(stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
        )

    return events
