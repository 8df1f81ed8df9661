"""The short-reply vocabulary: yes, no, never mind and ok, German and English, with typos."""

from __future__ import annotations

import pytest

from bot.core.replies import Reply, classify, command


@pytest.mark.parametrize(
    "text",
    ["ja", "Ja!", "jo", "jaaa", "ja bitte", "Ja, gerne", "yes", "Yes please", "yep", "yeah", "sure", "gerne"],
)
def test_yes(text: str) -> None:
    assert classify(text) is Reply.YES


@pytest.mark.parametrize(
    "text",
    [
        "nein",
        "Nein.",
        "nee",
        "nö",
        "noe",
        "nope",
        "no",
        "nah",
        "nein danke",
        "No thank you",
        "noo thanks",
        "nien",
    ],
)
def test_no_with_typos(text: str) -> None:
    assert classify(text) is Reply.NO


@pytest.mark.parametrize(
    "text",
    [
        "hat sich erledigt",
        "Hat sich schon erledigt, danke",
        "doch nicht",
        "never mind",
        "Nevermind!",
        "forget it",
        "Ah, jetzt geht es wieder. Hat sich erledigt",
    ],
)
def test_withdraw(text: str) -> None:
    assert classify(text) is Reply.WITHDRAW


@pytest.mark.parametrize(
    "text", ["👍", "👍🏻", "ok", "okay", "alles klar", "passt", "got it", "danke", "thanks"]
)
def test_acknowledgements(text: str) -> None:
    assert classify(text) is Reply.ACK


@pytest.mark.parametrize(
    "text",
    [
        "nein, ich meinte die Rechnung",
        "Ja ich habe eine Frage zu meiner Rechnung",
        "jein",
        "Ich hatte ein Problem, das hat sich erledigt, aber jetzt ist meine Rechnung falsch",
        "/help",
        "",
        "Rechnung",
    ],
)
def test_questions_and_unclear_replies_are_not_short_replies(text: str) -> None:
    assert classify(text) is None


def test_commands_are_read_without_the_bot_name_and_case() -> None:
    assert command("/Help@carebot please") == "/help"
    assert command("/resolve 12") == "/resolve"
    assert command("help") is None
    assert command("/") is None
