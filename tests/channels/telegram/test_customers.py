"""Customers end to end: the real Application polls the fake Telegram; replies come out of the outbox."""

from __future__ import annotations

import pytest
from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.channels.telegram.runtime import TelegramBot

from .fake_bot_api import STAFF_CHAT_ID, FakeTelegram

ANNA = 4711


async def test_faq_answer_with_greeting_and_typing(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "Wo finde ich meine Rechnung?")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)))
    texts = fake.texts(ANNA)
    assert "automatische" in texts[0].lower() or "assistent" in texts[0].lower()  # honest greeting first
    assert "https://kundencenter.example/rechnungen" in texts[-1]
    answer = fake.sent(ANNA)[-1]
    assert "parse_mode" not in answer
    follow_up = answer["reply_markup"]["inline_keyboard"]
    assert ["intent:invoice_wrong"] in [[b["callback_data"] for b in row] for row in follow_up]
    assert fake.calls_to("sendChatAction", chat_id=ANNA, action="typing")


async def test_start_greets_in_the_customers_language(fake: FakeTelegram, bot: TelegramBot) -> None:
    fake.private_message(fake.user(ANNA, "Ann", "en-GB"), "/start")
    (greeting,) = await fake.wait_for(lambda: fake.texts(ANNA))
    assert "assistant" in greeting.lower()


async def test_language_command_switches(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "/language")
    menu = await fake.wait_for(lambda: [m for m in fake.sent(ANNA) if "reply_markup" in m])
    fake.press(anna, menu[0], "lang:en")
    await fake.wait_for(lambda: len(fake.texts(ANNA)) == 2)
    fake.private_message(anna, "where is my invoice")
    await fake.wait_for(lambda: any("customer centre" in t for t in fake.texts(ANNA)))


async def test_clarify_button_answers_the_chosen_intent(fake: FakeTelegram, bot: TelegramBot) -> None:
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "Probleme mit dem Router")
    question = await fake.wait_for(
        lambda: [m for m in fake.sent(ANNA) if len(m.get("reply_markup", {}).get("inline_keyboard", [])) >= 2]
    )
    data = [row[0]["callback_data"] for row in question[0]["reply_markup"]["inline_keyboard"]]
    assert {"intent:router_restart", "intent:router_setup"} <= set(data)
    fake.press(anna, question[0], "intent:router_setup")
    await fake.wait_for(lambda: any("Anleitung" in t for t in fake.texts(ANNA)))
    assert all(fake.answered.get(q) for q in map(str, range(1, 2)))  # the button press was acknowledged


async def test_other_groups_are_ignored_but_named_once_in_the_log(
    fake: FakeTelegram, bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = fake.user(99, "Mallory", "de")
    fake.group_message(stranger, "Wo finde ich meine Rechnung?", chat_id=-100999)
    fake.group_message(stranger, "Hallo?", chat_id=-100999)
    fake.private_message(fake.user(ANNA), "/start")
    await fake.wait_for(lambda: fake.texts(ANNA))
    assert fake.sent(-100999) == []
    assert fake.sent(STAFF_CHAT_ID) == []
    named = [r.getMessage() for r in caplog.records if "-100999" in r.getMessage()]
    assert named == ["ignoring chat -100999 ('Some group'): not TELEGRAM_STAFF_CHAT_ID"]


async def test_a_failing_handler_is_logged_with_its_update_and_chat(
    fake: FakeTelegram, bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("boom")

    bot.app.add_handler(MessageHandler(filters.Regex("^explode$"), explode), group=-1)
    update = fake.private_message(fake.user(ANNA), "explode")
    await fake.wait_for(lambda: any("boom" in r.getMessage() for r in caplog.records))
    (record,) = [r for r in caplog.records if "boom" in r.getMessage()]
    assert record.getMessage().startswith(
        f"handling update {fake.update_id_of(update)} in chat {ANNA} failed"
    )
    assert record.exc_info is not None


async def test_a_lone_surrogate_is_stored_and_answered(fake: FakeTelegram, bot: TelegramBot) -> None:
    """Telegram's JSON can carry ``\\ud800`` escapes that decode to a lone surrogate: the message is still
    stored (with U+FFFD) and answered."""
    anna = fake.user(ANNA, "Anna", "de")
    fake.private_message(anna, "Wo finde ich meine Rechnung? \ud800")
    await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(ANNA)))
    async with bot.db.snapshot() as tx:
        row = await tx.fetch_one("SELECT text FROM messages WHERE author = 'customer'")
    assert row is not None and row["text"] == "Wo finde ich meine Rechnung? \ufffd"


async def test_customer_buttons_pressed_in_a_group_do_nothing(fake: FakeTelegram, bot: TelegramBot) -> None:
    """A language or intent button under a message in the staff group (or any group) is not a customer:
    main created a "customer" for the group and posted the language confirmation into it."""
    mia = fake.user(501, "Mia", "de")
    fake.set_member(501, "member")
    keyboard = {
        "inline_keyboard": [
            [{"text": "English", "callback_data": "lang:en"}],
            [{"text": "Rechnung", "callback_data": "intent:invoice_copy"}],
        ]
    }
    for chat_id in (STAFF_CHAT_ID, -100999):
        fake._chat(chat_id, "supergroup", {"title": "Some group"})
        status, body = fake.call("sendMessage", {"chat_id": chat_id, "text": "🌐", "reply_markup": keyboard})
        assert status == 200
        before = len(fake.sent(chat_id))
        pressed = [fake.press(mia, body["result"], data) for data in ("lang:en", "intent:invoice_copy")]
        handled = set(pressed)
        await fake.wait_for(lambda: handled <= fake.answered.keys())  # noqa: B023 (awaited here)
        fake.private_message(fake.user(ANNA), "/start")  # a later update: the presses are behind us
        await fake.wait_for(lambda: fake.texts(ANNA))
        fake.chats[ANNA].messages.clear()
        assert len(fake.sent(chat_id)) == before
        assert await bot.db.customer_by_external("telegram", str(chat_id)) is None
