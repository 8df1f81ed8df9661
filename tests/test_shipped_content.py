"""The shipped example folder must load cleanly and pass every editors' test case through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.core.model import Content

INTENTS = Path(__file__).resolve().parents[1] / "intents"


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_folder(INTENTS)
    assert result.warnings == []
    return result.content


@pytest.fixture(scope="module")
def brain(content: Content) -> Brain:
    return Brain.build(content)


def test_folder_is_big_enough_to_be_a_real_faq(content: Content) -> None:
    assert len(content.intents) >= 30
    for intent in content.intents:
        for language in content.settings.languages:
            assert len(intent.examples[language]) >= 8, (intent.id, language)
            assert intent.answers[language], (intent.id, language)


def test_tests_cover_every_intent_and_both_failure_modes(content: Content) -> None:
    expected = {case.expect for case in content.tests}
    answered = {intent.id for intent in content.intents if "out_of_scope" not in intent.tags}
    assert answered <= expected  # out-of-scope intents are never answered: their cases expect not_understood
    assert {"escalate", "not_understood"} <= expected


def test_every_shipped_case_passes(content: Content, brain: Brain) -> None:
    failures = [
        f"{case.source}: {case.text!r} -> {outcome}, expected {case.expect}"
        for case in content.tests
        if (outcome := brain.first_turn_outcome(case.text, case.language)) != case.expect
    ]
    assert failures == []


@pytest.mark.parametrize(
    ("text", "language", "expected_start"),
    [
        ("wo finde ich meine rechnug", "de", "invoice_copy"),
        ("where can I download my bill", "en", "invoice_copy"),
    ],
)
def test_issue_examples(brain: Brain, text: str, language: str, expected_start: str) -> None:
    assert brain.first_turn_outcome(text) == expected_start
    assert brain.analyze(text).language == language


@pytest.mark.parametrize("language", ["de", "en"])
def test_greeting_says_plainly_it_is_an_automated_assistant(brain: Brain, language: str) -> None:
    greeting = brain.renderer.message("greeting", language, {"customer_name": "Kim"}).casefold()
    assert any(word in greeting for word in ("automat", "bot", "assistent", "assistant"))
    assert "/human" in greeting  # and says how to reach a person


@pytest.mark.parametrize("language", ["de", "en"])
def test_handoff_carries_ticket_and_eta(brain: Brain, language: str) -> None:
    eta = brain.renderer.eta(None, language)
    text = brain.renderer.message("handoff", language, {"ticket_id": "4711", "eta": eta})
    assert "4711" in text and eta in text


def test_the_widget_labels_keep_their_accessible_names(content: Content) -> None:
    """Screen-reader users and the browser tests find the widget by these names, in every language."""
    from bot.core.render import Renderer

    renderer = Renderer(content)
    names = {"de": ("Nachricht", "Senden"), "en": ("Message", "Send")}
    for language in content.settings.languages:
        assert "Chat" in renderer.message("web_launcher", language)
        assert (renderer.message("web_message", language), renderer.message("web_send", language)) == names[
            language
        ]
