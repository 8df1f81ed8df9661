"""Language detection: evidence from the text, a weak channel hint, a sticky conversation language."""

from __future__ import annotations

import pytest

from bot.core.language import detect_language, language_scores

SUPPORTED = ("de", "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wo finde ich meine Rechnung?", "de"),
        ("Ich möchte meinen Vertrag kündigen", "de"),
        ("where can I find my invoice", "en"),
        ("I want to cancel my contract", "en"),
        ("Mein Internet geht nicht", "de"),
        ("my internet is not working", "en"),
    ],
)
def test_clear_messages(text: str, expected: str) -> None:
    assert detect_language(text, SUPPORTED) == expected


def test_no_evidence_gives_the_default() -> None:
    assert detect_language("12345", SUPPORTED) == "de"
    assert detect_language("", ("en", "de")) == "en"


def test_hint_is_a_prior_for_ambiguous_text() -> None:
    assert detect_language("ok", SUPPORTED, hint="en") == "en"
    assert detect_language("Router", SUPPORTED, hint="en") == "en"


def test_hint_does_not_beat_clear_evidence() -> None:
    assert detect_language("Wo ist meine Rechnung?", SUPPORTED, hint="en") == "de"


def test_regional_hint_counts_as_its_language() -> None:
    assert detect_language("ok", SUPPORTED, hint="en-GB") == "en"


def test_unsupported_hint_is_ignored() -> None:
    assert detect_language("ok", SUPPORTED, hint="fr") == "de"


def test_previous_language_is_sticky_for_short_messages() -> None:
    assert detect_language("ok", SUPPORTED, previous="en") == "en"
    assert detect_language("Rechnung?", SUPPORTED, previous="en") == "en"
    assert detect_language("invoice", SUPPORTED, previous="de") == "de"


def test_previous_beats_the_hint_on_ambiguous_text() -> None:
    assert detect_language("ok danke", SUPPORTED, hint="en", previous="de") == "de"


def test_clear_evidence_switches_a_conversation() -> None:
    assert detect_language("Where is my invoice? I cannot find it", SUPPORTED, previous="de") == "en"
    assert detect_language("Ich kann meine Rechnung nicht finden", SUPPORTED, previous="en") == "de"


def test_answer_is_always_supported() -> None:
    assert detect_language("Where is my invoice?", ("de",)) == "de"
    assert detect_language("Bonjour, je voudrais ma facture", ("de", "en", "fr")) == "fr"


def test_scores_are_explainable() -> None:
    scores = language_scores("wo ist die rechnung", SUPPORTED)
    assert scores["de"] > scores["en"] == 0.0


def test_needs_a_supported_language() -> None:
    with pytest.raises(ValueError):
        detect_language("hallo", ())
