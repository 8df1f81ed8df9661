"""An update processed twice (the inbox re-runs what a crash left unmarked) is answered once."""

from __future__ import annotations

from bot.channels.base import Inbound

from .conftest import Harness


def command(text: str, message_id: str | None) -> Inbound:
    return Inbound(channel="test", user_id="u1", display_name="Kim", language_hint="de", text=text,
                   message_id=message_id)  # fmt: skip


async def test_the_same_start_command_twice_greets_once(harness: Harness) -> None:
    await harness.service.greet(command("/start", "17"))
    await harness.service.greet(command("/start", "17"))
    await harness.sender.run_once()
    assert len(harness.replies()) == 1


async def test_a_new_start_command_greets_again(harness: Harness) -> None:
    await harness.service.greet(command("/start", "17"))
    await harness.service.greet(command("/start", "18"))
    await harness.service.greet(command("/start", None))  # channels without message ids: every time
    await harness.sender.run_once()
    assert len(harness.replies()) == 3


async def test_the_same_question_twice_is_answered_once(harness: Harness) -> None:
    await harness.say("Wo finde ich meine Rechnung?", message_id="20")
    first = harness.replies()
    await harness.say("Wo finde ich meine Rechnung?", message_id="20")
    assert first and harness.replies() == []
