"""Escalation: the customer gets an honest hand-over, staff get a topic opened by a ticket card."""

from __future__ import annotations

import pytest

from bot.channels.telegram.runtime import TelegramBot

from .fake_bot_api import STAFF_CHAT_ID, FakeTelegram

ANNA = 4711


async def test_angry_customer_gets_a_ticket_topic_and_card(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna <Admin>", "de")
    fake.private_message(anna, "Das ist eine Frechheit!!! BETRUG")
    (topic,) = await fake.wait_for(fake.topics)
    assert topic.name.startswith("🆕 #1 Anna <Admin>")
    assert "angry" in topic.name
    card = (await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID, topic.thread_id)))[0]
    assert card["parse_mode"] == "HTML"
    assert "Ticket #1" in card["text"]
    assert "Anna &lt;Admin&gt;" in card["text"]  # escaped: a customer's name is never markup
    assert "Frechheit" in card["text"]
    assert "Anger:" in card["text"]
    actions = [row[0]["callback_data"] for row in card["reply_markup"]["inline_keyboard"]]
    assert actions == ["staff:claim:1", "staff:resolve:1", "staff:snooze:1", "staff:handback:1"]
    handoff = await fake.wait_for(lambda: [t for t in fake.texts(ANNA) if "1" in t and "Vorgang" in t])
    assert handoff


async def test_later_messages_are_mirrored_into_the_topic(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    fake.private_message(anna, "Meine Kundennummer ist 12345")
    mirrored = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if "12345" in t]
    )
    assert mirrored == ["💬 Anna:\nMeine Kundennummer ist 12345"]


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "document"])
async def test_media_goes_to_a_ticket_with_an_honest_reply(
    fake: FakeTelegram, bot: TelegramBot, kind: str
) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.media(anna, kind, caption="Der Router blinkt rot")
    (topic,) = await fake.wait_for(fake.topics)
    assert "attachment" in topic.name
    card, copy = await fake.wait_for(
        lambda: (
            len(fake.sent(STAFF_CHAT_ID, topic.thread_id)) >= 2 and fake.sent(STAFF_CHAT_ID, topic.thread_id)
        )
    )
    assert f"[{kind}] Der Router blinkt rot" in card["text"]
    assert kind in copy  # staff see the original, copied into the topic
    replies = await fake.wait_for(lambda: len(fake.texts(ANNA)) >= 2 and fake.texts(ANNA))
    assert any("Vorgang" in t for t in replies)


async def test_a_deleted_topic_is_recreated(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (first,) = await fake.wait_for(fake.topics)
    await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID, first.thread_id))
    fake.delete_topic(first.thread_id)
    fake.private_message(anna, "Hallo? Ist da jemand?")
    (second,) = await fake.wait_for(fake.topics)
    assert second.thread_id != first.thread_id
    texts = await fake.wait_for(
        lambda: (
            len(fake.texts(STAFF_CHAT_ID, second.thread_id)) >= 2
            and fake.texts(STAFF_CHAT_ID, second.thread_id)
        )
    )
    assert "Ticket #1" in texts[0]
    assert "Ist da jemand?" in texts[-1]
    assert fake.calls_to("sendMessage", message_thread_id=first.thread_id)[-1].failed == (
        "Bad Request: message thread not found"
    )


async def test_customer_edits_are_mirrored(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    written = fake.private_message(anna, "Kundennummer 12354")
    await fake.wait_for(lambda: any("12354" in t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id)))
    fake.edit(written, "Kundennummer 12345")
    edited = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if "edited" in t and "12345" in t]
    )
    assert len(edited) == 1


async def test_the_never_mind_button_withdraws_and_the_topic_says_so(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    """Issue #13: the customer can withdraw from the hand-over message itself; staff see it in the topic."""
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    (handoff,) = await fake.wait_for(
        lambda: [m for m in fake.sent(ANNA) if "Vorgang" in m["text"] and m.get("reply_markup")]
    )
    buttons = [row[0]["callback_data"] for row in handoff["reply_markup"]["inline_keyboard"]]
    assert buttons == ["withdraw:1"]  # names its ticket: an old button never ends a later one
    fake.press(anna, handoff, "withdraw:1")
    said = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if "withdrew" in t]
    )
    assert said == ["↩️ The customer withdrew the request; the ticket is closed as withdrawn."]
    await fake.wait_for(lambda: any("zurückgezogen" in t for t in fake.texts(ANNA)))


async def test_an_unclaimed_ticket_still_gets_answers_and_the_topic_shows_them(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    await fake.wait_for(lambda: any("Vorgang" in t for t in fake.texts(ANNA)))
    fake.private_message(anna, "Wo finde ich meine Rechnung?")
    shown = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if t.startswith("🤖 The bot answered")]
    )
    assert len(shown) == 1
    answers = [t for t in fake.texts(ANNA) if t in shown[0]]
    assert answers  # the customer got exactly what staff are shown
