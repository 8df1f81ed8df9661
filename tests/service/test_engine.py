"""The conversation engine end to end: real YAML, a real database (both engines), real outbox, a recording channel."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

from bot.channels.base import DeliveryError, Inbound
from bot.content.brain import Brain
from bot.core.model import Analysis, Priority, Reason, TicketStatus
from bot.core.policy import ConversationState
from bot.service.delivery import OutboxSender
from bot.storage.rows import Row
from tests.service.conftest import Harness


async def _ticket_row(harness: Harness, ticket_id: int) -> Row:
    async with harness.db.snapshot() as tx:
        row = await tx.fetch_one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
    assert row is not None
    return row


async def _message_rows(harness: Harness) -> list[Row]:
    async with harness.db.snapshot() as tx:
        return await tx.fetch_all("SELECT * FROM messages ORDER BY id")


async def test_first_message_is_greeted_honestly_then_answered_with_follow_up(harness: Harness) -> None:
    report = await harness.say("wo finde ich meine rechnug")
    assert report.outcome == "invoice_copy"
    greeting, answer = harness.replies()
    assert "automatisch" in greeting.text.lower() or "assistent" in greeting.text.lower()
    assert (
        answer.text == "Ihre Rechnungen finden Sie im Kundencenter: https://kundencenter.example/rechnungen"
    )
    assert [b.payload for b in answer.buttons] == ["intent:payment_methods"]
    assert answer.buttons[0].label == "Zahlungsarten"


async def test_language_follows_the_customer(harness: Harness) -> None:
    await harness.say("where can I download my bill", hint=None)
    *_, answer = harness.replies()
    assert answer.text.startswith("You find all invoices")
    assert answer.buttons[0].label == "Payment methods"


async def test_inbound_is_stored_with_the_analysis_staff_will_see(harness: Harness) -> None:
    report = await harness.say("Rechnung herunterladen", message_id="42")
    rows = await _message_rows(harness)
    inbound = next(r for r in rows if r["id"] == report.message_id)
    assert inbound["text"] == "Rechnung herunterladen"
    assert inbound["handled_at"] is not None
    analysis = json.loads(inbound["analysis"])
    assert analysis["intents"][0]["intent"] == "invoice_copy"
    assert analysis["intents"][0]["score"] >= 75


async def test_redelivered_update_is_not_answered_twice(harness: Harness) -> None:
    await harness.say("Rechnung herunterladen", message_id="7")
    harness.replies()
    again = await harness.say("Rechnung herunterladen", message_id="7")
    assert again.duplicate
    assert harness.replies() == []


async def test_ambiguous_message_gets_buttons_and_a_button_press_answers(harness: Harness) -> None:
    report = await harness.say("Ich möchte meinen Tarif")
    assert report.outcome == "clarify"
    *_, clarify = harness.replies()
    payloads = [b.payload for b in clarify.buttons]
    assert "intent:tariff_change" in payloads
    assert payloads[-1] == "none"
    pressed = await harness.say("Tarif wechseln", payload="intent:tariff_change")
    assert pressed.outcome == "tariff_change"
    assert harness.replies()[0].text.startswith("Einen Tarifwechsel")


async def test_none_of_these_asks_to_rephrase_once_then_hands_over_instead_of_looping(
    harness: Harness,
) -> None:
    assert (await harness.say("Ich möchte meinen Tarif")).outcome == "clarify"
    harness.replies()
    rephrase = await harness.say("Nichts davon", payload="none")  # issue #13 finding 3: not a ticket yet
    assert rephrase.outcome == "rephrase" and rephrase.ticket_id is None
    assert [b.payload for b in harness.replies()[-1].buttons] == ["human"]
    assert (await harness.say("Ich möchte meinen Tarif")).outcome == "clarify"
    report = await harness.say("Nichts davon", payload="none")
    assert report.outcome == "escalate" and report.ticket_id is not None
    row = await _ticket_row(harness, report.ticket_id)
    assert row["reason"] == Reason.AMBIGUOUS.value


async def test_two_misses_hand_over_with_real_ticket_and_honest_eta(harness: Harness) -> None:
    first = await harness.say("Wie wird das Wetter auf dem Mars?")
    assert first.outcome == "not_understood"
    *_, miss = harness.replies()
    assert [b.payload for b in miss.buttons] == ["human"]
    second = await harness.say("Kennst du ein Rezept für Käsekuchen?")
    assert second.outcome == "escalate" and second.ticket_id is not None
    (handoff,) = harness.replies()
    assert f"{second.ticket_id}" in handoff.text
    row = await _ticket_row(harness, second.ticket_id)
    assert row["reason"] == Reason.UNMATCHED.value
    assert row["status"] == TicketStatus.OPEN.value
    assert harness.content.messages["eta_unknown"]["de"].split()[0] in handoff.text  # no data yet: said so


async def test_angry_customer_is_escalated_with_high_priority_and_reasons(harness: Harness) -> None:
    report = await harness.say("Ihr seid BETRÜGER!!! Eine Frechheit!!!")
    assert report.outcome == "escalate" and report.ticket_id is not None
    row = await _ticket_row(harness, report.ticket_id)
    assert row["reason"] == Reason.ANGRY.value
    assert row["priority"] in {Priority.HIGH.value, Priority.URGENT.value}
    assert row["anger"] >= 60
    assert "Frechheit".casefold() in row["anger_reasons"].casefold()


async def test_while_a_human_has_the_ticket_the_bot_acks_once_and_stays_quiet(harness: Harness) -> None:
    from bot.service.staff import StaffService

    report = await harness.say("Ich will sofort einen Mitarbeiter sprechen!!!")
    assert report.outcome == "escalate" and report.ticket_id is not None
    harness.replies()
    # Issue #13: only once a person owns the ticket does the bot stay quiet about questions it knows.
    staff = StaffService(harness.db, lambda: harness.service.brain.renderer)
    assert await staff.claim(report.ticket_id, "anna")
    second = await harness.say("Rechnung herunterladen")
    assert second.outcome == "forward" and second.ticket_id == report.ticket_id
    (ack,) = harness.replies()
    assert ack.text == harness.service.brain.renderer.message(
        "handoff_ack", "de", {"ticket_id": str(report.ticket_id), "customer_name": "Kim"}
    )
    third = await harness.say("Hallo??")
    assert third.outcome == "forward"
    assert harness.replies() == []


async def test_escalating_intent_answers_and_opens_a_ticket(harness: Harness) -> None:
    report = await harness.say("Mein Internet geht nicht")
    assert report.outcome == "fault_report" and report.ticket_id is not None
    texts = [m.text for m in harness.replies()]
    assert any(t.startswith("Das tut mir leid") for t in texts)
    assert any(str(report.ticket_id) in t for t in texts)


async def test_attachment_is_stored_and_goes_to_a_human_with_an_honest_reply(harness: Harness) -> None:
    report = await harness.say("", attachment="photo")
    assert report.outcome == "escalate" and report.ticket_id is not None
    row = await _ticket_row(harness, report.ticket_id)
    assert row["reason"] == Reason.ATTACHMENT.value
    assert len(harness.replies()) >= 2  # greeting/attachment notice + handoff with ticket number


async def test_huge_message_emoji_and_whitespace_lose_nothing(harness: Harness) -> None:
    long_text = "Rechnung herunterladen " + "bla " * 2500 + " 😡🎉"
    report = await harness.say(long_text)
    rows = await _message_rows(harness)
    assert next(r for r in rows if r["id"] == report.message_id)["text"] == long_text
    blank = await harness.say("   ", user="u3")
    assert blank.outcome == "not_understood"
    assert [r["text"] for r in await _message_rows(harness) if r["id"] == blank.message_id] == ["   "]


async def test_customer_text_is_never_interpreted_as_a_template(harness: Harness) -> None:
    await harness.say("$ticket_id ${eta} $$ $invoice_url")
    rows = await _message_rows(harness)
    assert rows[0]["text"] == "$ticket_id ${eta} $$ $invoice_url"


async def test_recover_finishes_a_turn_interrupted_after_storing(harness: Harness) -> None:
    async with harness.db.transaction() as tx:
        customer = await tx.upsert_customer("test", "u9", "Alex", "de")
    stored = await harness.db.record_inbound(
        customer.id,
        text="Rechnung herunterladen",
        attachment=None,
        payload=None,
        channel_message_id="1",
        received_at=datetime.now(UTC),
    )
    reports = await harness.service.recover()
    assert [r.message_id for r in reports] == [stored.id]
    assert reports[0].outcome == "invoice_copy"
    await harness.sender.run_once()
    assert harness.channel.texts("u9")[-1].startswith("Ihre Rechnungen")
    assert await harness.service.recover() == []


async def test_resolved_ticket_gives_the_conversation_back_and_rating_is_stored(harness: Harness) -> None:
    from bot.service.staff import StaffService

    report = await harness.say("/human")
    assert report.ticket_id is not None
    harness.replies()
    staff = StaffService(harness.db, lambda: harness.service.brain.renderer)
    assert await staff.claim(report.ticket_id, "anna")
    await staff.reply(report.ticket_id, "anna", "Ich schaue mir das an. $eta bleibt $eta.")
    await staff.resolve(report.ticket_id, "anna")
    await harness.sender.run_once()
    texts = [m.text for _, m in harness.channel.sent]
    assert any("Ich schaue mir das an. $eta bleibt $eta." in t and "anna" in t for t in texts)
    # Only the agent's words are marked as a human's; the bot's own messages never are.
    human = [m.text for _, m in harness.channel.sent if m.from_human]
    assert len(human) == 1 and "Ich schaue mir das an." in human[0]
    rate_question = next(m for m in harness.channel.sent if m[1].buttons)[1]
    assert [b.payload for b in rate_question.buttons] == [f"rate:{report.ticket_id}:{n}" for n in range(1, 6)]
    harness.replies()
    rating = await harness.say("5", payload=f"rate:{report.ticket_id}:5")
    assert rating.outcome == "rating"
    assert harness.replies()  # thanks
    row = await _ticket_row(harness, report.ticket_id)
    assert row["status"] == TicketStatus.RESOLVED.value
    back = await harness.say("Rechnung herunterladen")
    assert back.outcome == "invoice_copy"


async def test_a_rating_counts_only_from_the_tickets_own_customer_and_only_once(harness: Harness) -> None:
    """Ticket numbers are sequential and shown to customers: ``rate:<someone else's ticket>:1`` must not
    count, must not be thanked for, and must not use up the real customer's one rating."""
    from bot.service.staff import StaffService

    report = await harness.say("/human")
    ticket_id = report.ticket_id
    assert ticket_id is not None
    staff = StaffService(harness.db, lambda: harness.service.brain.renderer)
    await staff.resolve(ticket_id, "anna")
    await harness.sender.run_once()
    harness.replies()

    forged = await harness.say("1", user="intruder", payload=f"rate:{ticket_id}:1")
    assert forged.outcome == "rating"
    said = [m.text for m in harness.replies("intruder")]
    assert not any("Vielen Dank für Ihre Bewertung" in t for t in said)
    assert len(said) == 2 and "zählt nicht" in said[1]  # first contact: the honest greeting comes first

    real = await harness.say("5", payload=f"rate:{ticket_id}:5")
    assert real.outcome == "rating"
    assert any("(5 von 5)" in m.text for m in harness.replies())
    again = await harness.say("2", payload=f"rate:{ticket_id}:2")
    assert again.outcome == "rating"
    assert [m.text for m in harness.replies()] == [
        "Diese Bewertung zählt nicht: Bewerten kann nur, wessen Anliegen erledigt wurde – einmal und bis zu 3 "
        "Tage danach."
    ]
    async with harness.db.snapshot() as tx:
        rows = await tx.fetch_all("SELECT rating FROM ratings WHERE ticket_id = ?", (ticket_id,))
        assert [tuple(row) for row in rows] == [(5,)]
        rows = await tx.fetch_all("SELECT actor FROM events WHERE kind = 'rated'")
        assert [tuple(row) for row in rows] == [("customer",)]


async def test_a_lone_surrogate_is_stored_as_a_replacement_character_and_answered(harness: Harness) -> None:
    """No UTF-8 encoder accepts ``"\\ud800"``: SQLite refused the message, so it was neither stored nor
    answered. The boundary (``Inbound``) replaces it, so the rest of the message still counts."""
    inbound = Inbound(
        channel="test", user_id="u1", display_name="K\udc80m", text="Rechnung \ud800 herunterladen"
    )
    assert inbound.text == "Rechnung \ufffd herunterladen" and inbound.display_name == "K\ufffdm"
    paired = Inbound(channel="test", user_id="u1", text="ok \ud83d\ude00")  # a pair split in two code units
    assert paired.text == "ok \U0001f600"
    report = await harness.service.handle(inbound)  # main raised UnicodeEncodeError here: nothing stored
    await harness.sender.run_once()
    assert report.outcome == "invoice_copy"
    stored = next(r for r in await _message_rows(harness) if r["id"] == report.message_id)
    assert stored["text"] == "Rechnung \ufffd herunterladen"
    assert harness.replies()[-1].text.startswith("Ihre Rechnungen")


async def test_reload_swaps_the_brain_between_turns(harness: Harness) -> None:
    old = harness.service.brain
    trimmed = replace(
        harness.content, intents=tuple(i for i in harness.content.intents if i.id != "invoice_copy")
    )
    harness.service.swap_brain(Brain.build(trimmed))
    report = await harness.say("Rechnung herunterladen")
    assert report.outcome != "invoice_copy"
    harness.service.swap_brain(old)
    assert (await harness.say("Rechnung herunterladen")).outcome == "invoice_copy"


async def test_failed_delivery_is_retried_later_in_order(harness: Harness) -> None:
    harness.channel.failures = [DeliveryError("429", retry_after=0)]
    await harness.say("Rechnung herunterladen")
    assert harness.channel.sent == []  # greeting failed, the answer waited behind it
    await harness.sender.run_once()
    greeting, answer = harness.replies()
    assert answer.text.startswith("Ihre Rechnungen")
    assert "Ihre Rechnungen" not in greeting.text


async def test_state_is_persisted_per_customer(harness: Harness) -> None:
    await harness.say("where can I download my bill", hint=None)
    await harness.say("Rechnung herunterladen", user="u2")
    async with harness.db.transaction() as tx:
        customer = await tx.upsert_customer("test", "u1", "Kim", None)
        state = ConversationState.from_json(await tx.load_conversation(customer.id))
    assert state.language == "en" and state.greeted


async def test_overlapping_delivery_rounds_send_each_reply_once(harness: Harness) -> None:
    await harness.service.handle(
        Inbound(channel="test", user_id="u1", display_name="Kim", text="Rechnung herunterladen")
    )
    await asyncio.gather(harness.sender.run_once(), harness.sender.run_once(), harness.sender.run_once())
    assert len(harness.replies()) == 2  # greeting and answer, once each


async def test_a_turn_that_crashes_goes_to_a_human_instead_of_blocking_recovery(harness: Harness) -> None:
    class Exploding(Brain):
        def analyze(self, *args: object, **kwargs: object) -> Analysis:  # type: ignore[override]
            raise RuntimeError("matcher bug")

    good = harness.service.brain
    harness.service.swap_brain(Exploding(good.content, good.index, good.tone, good.renderer, good.intents))
    report = await harness.say("Rechnung herunterladen")
    assert report.outcome == "escalate" and report.ticket_id is not None
    assert any(str(report.ticket_id) in m.text for m in harness.replies())
    assert await harness.service.recover() == []  # nothing left to crash-loop on
    row = next(r for r in await _message_rows(harness) if r["id"] == report.message_id)
    assert "matcher bug" in row["analysis"]


async def test_a_sender_limited_to_one_customer_never_delivers_anothers_replies(harness: Harness) -> None:
    mine = OutboxSender(harness.db, {"test": harness.channel}, recipients={"test": frozenset({"u1"})})
    for user in ("u1", "u2"):
        await harness.service.handle(
            Inbound(channel="test", user_id=user, display_name=user, text="Rechnung herunterladen")
        )
    await mine.run_once()
    assert {uid for uid, _ in harness.channel.sent} == {"u1"}
    await harness.sender.run_once()  # u2's replies were left for u2's own sender
    assert len(harness.replies("u2")) == 2


async def test_ticket_summary_says_what_the_customer_asked_not_the_command(harness: Harness) -> None:
    await harness.say("Meine Rechnung ist 50 Euro zu hoch")
    report = await harness.say("/human")
    assert report.ticket_id is not None
    summary = (await _ticket_row(harness, report.ticket_id))["summary"]
    assert "50 Euro" in summary and "/human" not in summary


async def test_what_the_bot_says_after_a_handover_belongs_to_the_ticket(harness: Harness) -> None:
    report = await harness.say("/human")
    await harness.say("Hallo, ist da jemand?")
    bot_rows = [
        r for r in await _message_rows(harness) if r["author"] == "bot" and r["ticket_id"] == report.ticket_id
    ]
    assert len(bot_rows) == 2  # the handoff and the one ack, both visible to staff on the ticket


async def test_an_english_question_switches_a_conversation_the_channel_called_german(
    harness: Harness,
) -> None:
    await harness.say("Hallo", hint="de")
    harness.replies()
    await harness.say("where can I download my bill", hint="de")
    assert harness.replies()[-1].text.startswith("You find all invoices")


async def test_greeting_again_only_when_asked(harness: Harness) -> None:
    start = Inbound(channel="test", user_id="u1", display_name="Kim", text="/start", language_hint="de")
    await harness.service.greet(start, again=False)
    await harness.service.greet(start, again=False)
    await harness.sender.run_once()
    assert len(harness.replies()) == 1
    await harness.service.greet(start)  # an explicit /start always answers
    await harness.sender.run_once()
    assert len(harness.replies()) == 1


async def test_ticket_summary_leaves_out_questions_the_bot_already_answered(harness: Harness) -> None:
    await harness.say("Rechnung herunterladen")
    await harness.say("Wie wird das Wetter auf dem Mars?")
    report = await harness.say("Kennst du ein Rezept für Käsekuchen?")
    assert report.ticket_id is not None
    summary = (await _ticket_row(harness, report.ticket_id))["summary"]
    assert summary == "Wie wird das Wetter auf dem Mars? / Kennst du ein Rezept für Käsekuchen?"
