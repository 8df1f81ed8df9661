"""Splitting long replies and escaping: Telegram's limits, checked without the network."""

from __future__ import annotations

from bot.channels.base import Button
from bot.channels.telegram.text import callback_data, escape, keyboard, split_text, truncate, utf16_len

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
