"""The canonical matching form: every spelling a customer might use for one word must meet."""

from __future__ import annotations

import pytest

from bot.core.normalize import MAX_CHARS, normalize, tokens


@pytest.mark.parametrize("spelling", ["Kündigung", "kuendigung", "KÜNDIGUNG", "Kuendigung!", "  kündigung  "])
def test_umlaut_spellings_are_one_word(spelling: str) -> None:
    assert normalize(spelling) == "kuendigung"


def test_all_umlauts_and_sharp_s() -> None:
    assert normalize("Äpfel Öl Übergröße Straße STRASSE ẞ") == "aepfel oel uebergroesse strasse strasse ss"


def test_ue_in_other_words_is_left_alone() -> None:
    # Folding goes towards the spelled-out form, so English words with "ue" keep it.
    assert normalize("Queue true") == "queue true"


def test_casefold_and_accents() -> None:
    assert normalize("Café CRÈME Niño") == "cafe creme nino"


def test_compatibility_characters() -> None:
    assert normalize("Ｒｅｃｈｎｕｎｇ ﬁle") == "rechnung file"


def test_punctuation_and_whitespace_collapse() -> None:
    assert normalize("Wo ist   meine\tRechnung???\n(bitte!!)") == "wo ist meine rechnung bitte"


def test_apostrophes_join_words() -> None:
    assert normalize("Don't") == normalize("dont") == "dont"
    assert normalize("what’s up") == "whats up"


def test_emoji_are_dropped() -> None:
    assert normalize("Rechnung 😡😡 bitte 👍") == "rechnung bitte"
    assert normalize("😀🎉") == ""


def test_digits_are_kept() -> None:
    assert normalize("Vertrag 12345, Tarif M-2") == "vertrag 12345 tarif m 2"


@pytest.mark.parametrize("text", ["", "   ", "?!?", "\n\t"])
def test_empty_and_punctuation_only(text: str) -> None:
    assert normalize(text) == ""
    assert tokens(text) == []


def test_long_messages_are_bounded_at_a_word_boundary() -> None:
    text = "Rechnung " * 1200  # 10,800 characters
    result = normalize(text)
    assert 0 < len(result) <= MAX_CHARS
    assert set(result.split()) == {"rechnung"}


def test_long_message_without_spaces_is_bounded() -> None:
    assert len(normalize("x" * 10_000)) == MAX_CHARS


def test_tokens() -> None:
    assert tokens("Wo ist meine Rechnung?") == ["wo", "ist", "meine", "rechnung"]
