"""A real database (SQLite file and PostgreSQL, see tests/conftest.py), a real YAML folder, the real engine and outbox, and a channel that records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.channels.base import DeliveryError, Inbound, Outbound
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.core.model import Content
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService, TurnReport
from bot.storage import Database

INTENTS = Path(__file__).parent / "intents"


@dataclass
class RecordingChannel:
    """Collects what customers would see; can be told to fail the next deliveries."""

    name: str = "test"
    sent: list[tuple[str, Outbound]] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((user_id, message))
        return f"m{len(self.sent)}"

    def texts(self, user_id: str = "u1") -> list[str]:
        return [m.text for uid, m in self.sent if uid == user_id]


@dataclass
class Harness:
    db: Database
    service: ConversationService
    sender: OutboxSender
    channel: RecordingChannel
    content: Content

    async def say(
        self,
        text: str = "",
        *,
        user: str = "u1",
        payload: str | None = None,
        attachment: str | None = None,
        message_id: str | None = None,
        hint: str | None = "de",
    ) -> TurnReport:
        report = await self.service.handle(
            Inbound(
                channel="test",
                user_id=user,
                display_name="Kim",
                language_hint=hint,
                text=text,
                payload=payload,
                attachment=attachment,
                message_id=message_id,
            )
        )
        await self.sender.run_once()
        return report

    def replies(self, user: str = "u1") -> list[Outbound]:
        out = [m for uid, m in self.channel.sent if uid == user]
        self.channel.sent = [(uid, m) for uid, m in self.channel.sent if uid != user]
        return out


@pytest.fixture
def content() -> Content:
    return load_folder(INTENTS).content


@pytest.fixture
async def harness(database_location: str | Path, content: Content) -> AsyncIterator[Harness]:
    db = await Database.open(database_location)
    try:
        channel = RecordingChannel()
        sender = OutboxSender(db, {"test": channel})
        service = ConversationService(db, Brain.build(content))
        yield Harness(db, service, sender, channel, content)
    finally:
        await db.close()
