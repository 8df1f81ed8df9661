"""Staff in the forum group: replies, claims, resolve and rating, notes, edits, and who counts as staff."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram.runtime import TelegramBot
from bot.channels.telegram.threads import Bounded
from bot.cli import main
from bot.core.model import TicketStatus
from bot.storage.reports import ticket_detail

from .fake_bot_api import JSON, STAFF_CHAT_ID, FakeTelegram, Topic

ANNA = 4711
IBAN = "DE89370400440532013000"
KIM = 501
LEE = 502


def _staff(fake: FakeTelegram) -> tuple[JSON, JSON]:
    kim, lee = fake.user(KIM, "Kim", "en"), fake.user(LEE, "Lee", "en")
    fake.set_member(KIM, "member")
    fake.set_member(LEE, "administrator")
    return kim, lee


async def _escalate(fake: FakeTelegram) -> tuple[JSON, Topic, JSON]:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/human")
    (topic,) = await fake.wait_for(fake.topics)
    card = (await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID, topic.thread_id)))[0]
    await fake.wait_for(lambda: any("Vorgang" in t for t in fake.texts(ANNA)))
    return anna, topic, card


async def _status(bot: TelegramBot, ticket_id: int = 1) -> tuple[TicketStatus, str | None]:
    ticket = await bot.db.ticket(ticket_id)
    assert ticket is not None
    return ticket.status, ticket.assignee


async def test_staff_reply_reaches_the_customer_and_edits_follow(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    kim, _ = _staff(fake)
    _, topic, _ = await _escalate(fake)
    written = fake.group_message(
        kim, "Hallo Anna, ich <b>prüfe</b> das & melde mich.", thread_id=topic.thread_id
    )
    reply = await fake.wait_for(lambda: [m for m in fake.sent(ANNA) if "prüfe" in m.get("text", "")])
    assert "Kim" in reply[0]["text"] and "tg:" not in reply[0]["text"]  # customers see the name only
    assert "ich <b>prüfe</b> das & melde mich." in reply[0]["text"]  # plain text, exactly as written
    assert "parse_mode" not in reply[0]
    assert (await _status(bot)) == (
        TicketStatus.ASSIGNED,
        "Kim [tg:501]",
    )  # the Telegram id decides; the name is for people
    fake.edit(written, "Hallo Anna, ich prüfe das sofort.")
    await fake.wait_for(lambda: any("sofort" in t for t in fake.texts(ANNA)))
    assert not any("<b>" in t for t in fake.texts(ANNA))  # the same message was edited, not a new one sent
    assert "👤" in fake.topics()[0].name


async def test_two_staff_press_claim_at_once_and_one_wins(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, lee = _staff(fake)
    _, _, card = await _escalate(fake)
    first = fake.press(kim, card, "staff:claim:1")
    second = fake.press(lee, card, "staff:claim:1")
    await fake.wait_for(lambda: first in fake.answered and second in fake.answered)
    answers = [fake.answered[first]["text"], fake.answered[second]["text"]]
    assert answers == ["Ticket #1 is yours.", "Kim [tg:501] already has ticket #1."]
    assert (await _status(bot)) == (TicketStatus.ASSIGNED, "Kim [tg:501]")


async def test_resolve_asks_for_a_rating_which_is_stored_and_the_bot_answers_again(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    kim, _ = _staff(fake)
    anna, topic, card = await _escalate(fake)
    fake.press(kim, card, "staff:claim:1")
    fake.group_message(kim, "Erledigt, die Rechnung ist korrigiert.", thread_id=topic.thread_id)
    fake.press(kim, card, "staff:resolve:1")
    rate = await fake.wait_for(
        lambda: [m for m in fake.sent(ANNA) if "rate:1:5" in str(m.get("reply_markup", {}))]
    )
    assert (await _status(bot))[0] is TicketStatus.RESOLVED
    await fake.wait_for(lambda: fake.topics()[0].name.startswith("✅"))
    fake.press(anna, rate[0], "rate:1:5")
    await fake.wait_for(
        lambda: "Bewertung (5 von 5)" in fake.texts(ANNA)[-1]
    )  # sent once the rating is stored
    async with bot.db.snapshot() as tx:
        detail = await ticket_detail(tx, 1)
    assert detail is not None and detail.rating == 5
    before = len(fake.texts(ANNA))
    fake.private_message(anna, "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)[before:]))
    fake.private_message(anna, "/human")  # a second ticket: its card lists the first
    second = await fake.wait_for(lambda: [t for t in fake.topics() if "#2" in t.name])
    card = await fake.wait_for(lambda: fake.texts(STAFF_CHAT_ID, second[0].thread_id))
    assert "<b>Earlier tickets:</b> #1 resolved (requested)" in card[0]


async def test_a_note_stays_internal(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, _ = _staff(fake)
    _, topic, _ = await _escalate(fake)
    sent_before = len(fake.texts(ANNA))
    fake.group_message(kim, "/note Kundin hat schon zweimal angerufen", thread_id=topic.thread_id)
    fake.group_message(kim, "/claim", thread_id=topic.thread_id)
    await fake.wait_for(lambda: any("yours" in t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id)))
    assert len(fake.texts(ANNA)) == sent_before
    async with bot.db.snapshot() as tx:
        found = await ticket_detail(tx, 1)
    assert found is not None
    assert [m.text for m in found.messages if m.private] == ["Kundin hat schon zweimal angerufen"]


async def test_non_staff_cannot_use_staff_commands(fake: FakeTelegram, bot: TelegramBot) -> None:
    _staff(fake)
    _, _, card = await _escalate(fake)
    mallory = fake.user(666, "Mallory", "en")
    fake.private_message(mallory, "/claim 1")
    fake.group_message(mallory, "/resolve 1", chat_id=-100777)
    fake.set_member(666, "left")
    query = fake.press(mallory, card, "staff:resolve:1")
    await fake.wait_for(lambda: query in fake.answered)
    assert fake.answered[query]["text"] == "Only the support team can do this."
    await fake.wait_for(lambda: fake.texts(666))  # the private "/claim 1" was just a customer message
    assert (await _status(bot)) == (TicketStatus.OPEN, None)
    assert fake.sent(-100777) == []
    assert not any("Mallory" in t for t in fake.texts(ANNA))


async def test_reload_and_queue_and_stats_answer_in_the_group(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, _ = _staff(fake)
    await _escalate(fake)
    fake.group_message(kim, "/queue")
    fake.group_message(kim, "/stats")
    fake.group_message(kim, "/reload")

    def general() -> list[str]:
        return [m["text"] for m in fake.sent(STAFF_CHAT_ID) if "message_thread_id" not in m]

    joined = "\n".join(await fake.wait_for(lambda: len(general()) >= 3 and general()))
    assert "#1 normal open · Anna" in joined
    assert "Active tickets: 1" in joined
    assert "no change: serving 4 intents" in joined


async def test_replies_thread_both_ways(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, _ = _staff(fake)
    anna, topic, _ = await _escalate(fake)
    question = fake.private_message(anna, "Meine Kundennummer ist 12345")
    mirrored = await fake.wait_for(
        lambda: [m for m in fake.sent(STAFF_CHAT_ID, topic.thread_id) if "12345" in m.get("text", "")]
    )
    answer = fake.group_message(
        kim, "Danke, ich schaue nach.", thread_id=topic.thread_id, reply_to=mirrored[0]
    )
    delivered = await fake.wait_for(lambda: [m for m in fake.sent(ANNA) if "schaue nach" in m["text"]])
    assert delivered[0]["reply_to_message"]["message_id"] == question["message_id"]
    fake.private_message(anna, "Super, danke!", reply_to_message=delivered[0])
    mirror = await fake.wait_for(
        lambda: [m for m in fake.sent(STAFF_CHAT_ID, topic.thread_id) if "Super" in m.get("text", "")]
    )
    assert mirror[0]["reply_to_message"]["message_id"] == answer["message_id"]


async def test_replies_still_thread_after_a_restart_forgot_the_pairs(
    fake: FakeTelegram, bot: TelegramBot
) -> None:
    """The in-memory pairs are gone (as after a restart); storage still knows where the staff reply was
    written, so the customer's answer to it lands under the staff member's message in the topic."""
    kim, _ = _staff(fake)
    anna, topic, _ = await _escalate(fake)
    answer = fake.group_message(kim, "Bitte starten Sie den Router neu.", thread_id=topic.thread_id)
    delivered = await fake.wait_for(lambda: [m for m in fake.sent(ANNA) if "Router neu" in m["text"]])
    bot.threads.topic_of_private = Bounded()
    fake.private_message(anna, "Hat geklappt!", reply_to_message=delivered[0])
    mirror = await fake.wait_for(
        lambda: [m for m in fake.sent(STAFF_CHAT_ID, topic.thread_id) if "geklappt" in m.get("text", "")]
    )
    assert mirror[0]["reply_to_message"]["message_id"] == answer["message_id"]
    # A reply to a bot message (not a staff reply) has no topic copy: mirrored without a reply.
    greeting = next(m for m in fake.sent(ANNA) if "Vorgang" in m["text"])
    fake.private_message(anna, "Und noch etwas", reply_to_message=greeting)
    plain = await fake.wait_for(
        lambda: [m for m in fake.sent(STAFF_CHAT_ID, topic.thread_id) if "noch etwas" in m.get("text", "")]
    )
    assert "reply_to_message" not in plain[0]


async def test_a_colleague_takes_over_with_claim_force(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, lee = _staff(fake)
    _, topic, card = await _escalate(fake)
    fake.press(kim, card, "staff:claim:1")
    await fake.wait_for(lambda: fake.answered)
    fake.group_message(lee, "Ich übernehme.", thread_id=topic.thread_id)
    refused = await fake.wait_for(
        lambda: [t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id) if t.startswith("Not sent")]
    )
    assert "/claim force" in refused[0] and "--force" not in refused[0]
    fake.group_message(lee, "/claim force", thread_id=topic.thread_id)
    await fake.wait_for(lambda: any("yours" in t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id)))
    assert (await _status(bot)) == (TicketStatus.ASSIGNED, "Lee [tg:502]")
    fake.group_message(lee, "Jetzt aber: ich übernehme.", thread_id=topic.thread_id)
    await fake.wait_for(lambda: any("Jetzt aber" in t for t in fake.texts(ANNA)))
    assert not any(t.endswith("Ich übernehme.") for t in fake.texts(ANNA))


async def test_snooze_and_back_to_bot_buttons(fake: FakeTelegram, bot: TelegramBot) -> None:
    kim, _ = _staff(fake)
    _, _, card = await _escalate(fake)
    snooze = fake.press(kim, card, "staff:snooze:1")
    await fake.wait_for(lambda: snooze in fake.answered)
    assert (await _status(bot)) == (TicketStatus.SNOOZED, "Kim [tg:501]")
    await fake.wait_for(lambda: fake.topics()[0].name.startswith("💤"))
    before = len(fake.texts(ANNA))
    fake.press(kim, card, "staff:handback:1")
    await fake.wait_for(lambda: len(fake.texts(ANNA)) > before)
    assert (await _status(bot))[0] is TicketStatus.RESOLVED
    await fake.wait_for(lambda: fake.topics()[0].name.startswith("✅"))
    assert not any(
        "rate:" in str(m.get("reply_markup")) for m in fake.sent(ANNA)
    )  # no rating after a handback


async def test_staff_are_told_apart_by_telegram_id_not_by_name(fake: FakeTelegram, bot: TelegramBot) -> None:
    """Two members called Mia: main stored both as "Mia", so either could resolve the other's ticket."""
    mia, other_mia = fake.user(KIM, "Mia", "en"), fake.user(LEE, "Mia", "en")
    fake.set_member(KIM, "member")
    fake.set_member(LEE, "member")
    _, topic, card = await _escalate(fake)
    claimed = fake.press(mia, card, "staff:claim:1")
    await fake.wait_for(lambda: claimed in fake.answered)
    resolved = fake.press(other_mia, card, "staff:resolve:1")
    await fake.wait_for(lambda: resolved in fake.answered)
    assert "assigned with Mia [tg:501]" in fake.answered[resolved]["text"]
    assert (await _status(bot)) == (TicketStatus.ASSIGNED, "Mia [tg:501]")
    events = await bot.db.ticket_events(1)
    assert [(e.actor, e.kind) for e in events if e.kind == "claimed"] == [("Mia [tg:501]", "claimed")]
    # A renamed Mia is still Mia: her tickets stay hers.
    fake.group_message(fake.user(KIM, "Mia R.", "en"), "/resolve", thread_id=topic.thread_id)
    await fake.wait_for(lambda: "Ticket #1 resolved" in str(fake.texts(STAFF_CHAT_ID, topic.thread_id)))
    assert (await _status(bot))[0] is TicketStatus.RESOLVED
    resolved_by = [e.actor for e in await bot.db.ticket_events(1) if e.kind == "resolved"]
    assert resolved_by == ["Mia R. [tg:501]"]


async def test_removal_from_the_staff_group_applies_at_once(fake: FakeTelegram, bot: TelegramBot) -> None:
    """Telegram's ``chat_member`` update drops the cached membership: main kept trusting it for 5 minutes."""
    kim, lee = _staff(fake)
    _, _, card = await _escalate(fake)
    first = fake.press(kim, card, "staff:claim:1")
    await fake.wait_for(lambda: first in fake.answered)
    assert fake.answered[first]["text"] == "Ticket #1 is yours."
    fake.change_member(kim, "kicked", by=lee)
    second = fake.press(kim, card, "staff:snooze:1")
    await fake.wait_for(lambda: second in fake.answered)
    assert fake.answered[second]["text"] == "Only the support team can do this."
    assert (await _status(bot))[0] is TicketStatus.ASSIGNED  # not snoozed
    fake.change_member(kim, "member", by=lee)  # back again: also at once
    third = fake.press(kim, card, "staff:snooze:1")
    await fake.wait_for(lambda: third in fake.answered)
    assert (await _status(bot))[0] is TicketStatus.SNOOZED
    assert len(fake.calls_to("getChatMember", user_id=KIM)) == 1  # the updates, not new lookups, decided


async def test_forgetting_a_customer_cleans_the_staff_group(
    fake: FakeTelegram, bot: TelegramBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``customer forget`` beside the running bot: main left the topic named after the customer and the
    card and mirrored messages with what they wrote (an IBAN). Now the topic is renamed and closed, the
    bot's messages there are deleted, and what Telegram refuses (older than 48 hours) is listed."""
    kim, _ = _staff(fake)
    anna, topic, card = await _escalate(fake)
    fake.private_message(anna, f"Meine IBAN ist {IBAN}")
    await fake.wait_for(lambda: any(IBAN in t for t in fake.texts(STAFF_CHAT_ID, topic.thread_id)))
    fake.group_message(kim, "Danke, ich prüfe die Abbuchung.", thread_id=topic.thread_id)
    await fake.wait_for(lambda: any("prüfe die Abbuchung" in t for t in fake.texts(ANNA)))
    mirrored = next(m for m in fake.sent(STAFF_CHAT_ID, topic.thread_id) if IBAN in m.get("text", ""))
    fake.age(STAFF_CHAT_ID, mirrored["message_id"], hours=49)  # too old for a bot to delete
    assert "Anna" in fake.topics()[0].name

    monkeypatch.setenv("BOT_DATABASE", str(bot.config.database))
    assert (
        await asyncio.to_thread(main, ["customer", "forget", f"telegram:{ANNA}", "--yes", "--as", "dpo"]) == 0
    )

    (forgotten,) = await fake.wait_for(lambda: [t for t in fake.topics() if t.closed])
    assert forgotten.name == "#1 (forgotten)"
    left = fake.sent(STAFF_CHAT_ID, topic.thread_id)
    assert card["message_id"] not in [m["message_id"] for m in left]  # the card is gone
    texts = [m.get("text", "") for m in left]
    assert [t for t in texts if IBAN in t] == [mirrored["text"]]  # only the one Telegram refused ...
    (report,) = [t for t in texts if "forgotten" in t]
    assert "could not" not in report and "did not let the bot delete 1" in report  # ... is listed
    assert f"https://t.me/c/{str(STAFF_CHAT_ID)[4:]}/{topic.thread_id}/{mirrored['message_id']}" in report
    staff_messages = fake.chats[STAFF_CHAT_ID].messages.values()
    assert not any("prüfe die Abbuchung" in m.get("text", "") for m in staff_messages)  # Kim's reply too
    assert not any("Anna" in t.name for t in fake.topics())
    async with bot.db.snapshot() as tx:
        row = await tx.fetch_one("SELECT count(*) AS n FROM staff_posts")
    assert row is not None and row["n"] == 0
