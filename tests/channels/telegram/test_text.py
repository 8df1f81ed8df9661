"""Splitting long replies and escaping: Telegram's limits, checked without the network."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.channels.base import Button
from bot.channels.telegram.text import callback_data, escape, keyboard, split_text, truncate, utf16_len
from bot.channels.telegram.topics import card_html
from bot.core.model import Author, Priority, Reason, TicketStatus
from bot.storage import Customer, StoredMessage, Ticket

from .fake_bot_api import check_html


def test_short_text_is_one_message() -> None:
    assert split_text("Hallo!") == ["Hallo!"]


def test_long_text_splits_at_paragraphs_and_keeps_everything() -> None:
    paragraphs = [f"Absatz {n}: " + "wort " * 150 for n in range(12)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert all(part.startswith("Absatz") for part in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    parts = split_text("x" * 10_000)
    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_limit_counts_utf16_units_like_telegram() -> None:
    parts = split_text("😀" * 3000)  # each emoji is two UTF-16 units
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert "".join(parts) == "😀" * 3000


def test_escape_makes_any_text_valid_html() -> None:
    nasty = "<b>not bold</b> & <script>alert(1)</script> 3 < 4 > 2 &amp;"
    assert check_html(f"<b>{escape(nasty)}</b>") == nasty


def test_truncate_marks_the_cut() -> None:
    assert truncate("abc", 10) == "abc"
    assert truncate("abcdefghij" * 3, 10) == "abcdefghi…"


def test_callback_data_fits_64_bytes() -> None:
    assert callback_data("intent:invoice_copy") == "intent:invoice_copy"
    long = "intent:" + "ü" * 60
    assert len(callback_data(long).encode()) <= 64
    assert callback_data(long) == callback_data(long)


def test_keyboard_one_button_per_row() -> None:
    markup = keyboard((Button("Rechnung", "intent:invoice"), Button("Mensch", "human")))
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["intent:invoice"],
        ["human"],
    ]
    assert keyboard(()) is None


def test_ticket_card_stays_valid_and_within_the_limit_whatever_customers_write() -> None:
    now = datetime.now(UTC)
    hostile = "<b>&" * 2000 + "😀" * 500
    customer = Customer(1, "telegram", "4711", hostile, "de", False)
    ticket = Ticket(
        id=7, customer_id=1, status=TicketStatus.OPEN, priority=Priority.HIGH, reason=Reason.ANGRY,
        assignee=None, anger=88.0, anger_reasons=(hostile,) * 5, summary=hostile, created_at=now,
        waiting_since=now, first_response_due=now, resolution_due=now, first_response_at=None,
        resolved_at=None, resolution=None, snoozed_until=None, rating_asked_at=None, updated_at=now,
    )  # fmt: skip
    analysis = json.dumps({"intents": [{"intent": hostile, "score": 80.5}] * 5})
    messages = [
        StoredMessage(
            id=n,
            customer_id=1,
            ticket_id=7,
            author=Author.CUSTOMER,
            agent=None,
            private=False,
            text=hostile,
            attachment="photo" if n % 2 else None,
            payload=None,
            buttons=(),
            channel_message_id=str(n),
            analysis=analysis,
            created_at=now,
            handled_at=now,
            sent_at=None,
        )
        for n in range(20)
    ]
    card = card_html(ticket, customer, messages, [ticket] * 20)
    visible = check_html(card)
    assert utf16_len(visible) <= 4096
    assert "Ticket #7" in visible and "Anger:" in visible and "Earlier tickets:" in visible
