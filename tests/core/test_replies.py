"""The short-reply vocabulary: yes, no, never mind and ok, German and English, with typos."""

from __future__ import annotations

import pytest

from bot.core.replies import (
    Reply,
    announces_topic,
    asks_to_be_passed_on,
    classify,
    command,
    declines_person,
    is_pleasantry,
)


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
    "text",
    [
        "👍",
        "👍🏻",
        "ok",
        "okay",
        "alles klar",
        "passt",
        "got it",
        "danke",
        "thanks",
        "ty",
        "np",
        "kein Problem",
        "alles gut",
    ],
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


@pytest.mark.parametrize(
    "text",
    [
        "Hallo",
        "Guten Morgen zusammen!",
        "Grüß Gott",
        "Hallo, ich habe eine Frage",
        "Vielen Dank im Voraus!",
        "Danke, schönen Tag noch",
        "Tschüss und schönen Abend",
        "hi there, quick question",
        "Thanks and bye!",
        "thank you very much 🙏",
    ],
)
def test_pleasantries(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hallo, ich habe eine Frage zu meiner Rechnung",
        "Die ist viel zu hoch.",
        "Bist du ein Bot?",
        "Danke, wie kann ich bezahlen?",
        "hello, my internet is down",
        "",
        "👎",
    ],
)
def test_questions_are_not_pleasantries(text: str) -> None:
    assert not is_pleasantry(text)


def test_the_shipped_greeting_thanks_and_goodbye_intents_are_pleasantries_and_no_other() -> None:
    """The policy reads "pleasantry" from an intent's examples; pin that on the shipped folder."""
    from pathlib import Path

    from bot.content.loader import load_folder

    content = load_folder(Path(__file__).resolve().parents[2] / "intents").content
    share = {
        i.id: sum(map(is_pleasantry, ex := [e for texts in i.examples.values() for e in texts])) / len(ex)
        for i in content.intents
    }
    assert {i for i, s in share.items() if s > 0.5} == {"hello", "thanks", "goodbye"}
    assert max(s for i, s in share.items() if i not in {"hello", "thanks", "goodbye"}) == 0


@pytest.mark.parametrize(
    "text",
    [
        "Nein, etwas anderes",
        "No, something else",
        "etwas anderes",
        "keins davon",
        "none of these fit",
        "nope, not that",
    ],
)
def test_typing_the_something_else_button_is_a_no(text: str) -> None:
    assert classify(text) is Reply.NO


def test_something_else_followed_by_a_question_is_the_question() -> None:
    assert classify("Etwas anderes: meine Rechnung ist falsch") is None


@pytest.mark.parametrize(
    "text",
    [
        "no I don't want a human",
        "nein, keinen Mitarbeiter bitte",
        "Ich will mit keinem Menschen reden",
        "no thanks, I don't need a person",
        "Ich möchte nicht mit einem Menschen sprechen",
        "I do not want to talk to a person",
    ],
)
def test_a_no_to_a_person(text: str) -> None:
    assert declines_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ich will mit einem Menschen sprechen",
        "Nein, ich will einen Mitarbeiter",
        "No. I want a human now",
        "Ich will nicht mehr warten, gib mir einen Menschen",
    ],
)
def test_a_request_for_a_person_is_not_a_no(text: str) -> None:
    assert not declines_person(text)


def test_a_no_phrase_after_a_no_word_is_a_no() -> None:
    assert classify("Nee, lieber nicht") is Reply.NO


@pytest.mark.parametrize(
    "text", ["Hat sich schon erledigt, danke und tschüss!", "Never mind, it works again now, thanks a lot"]
)
def test_a_withdrawal_with_a_polite_tail_is_still_a_withdrawal(text: str) -> None:
    assert classify(text) is Reply.WITHDRAW


@pytest.mark.parametrize(
    "text",
    [
        "Das geht doch nicht!",
        "Ich will doch nicht ewig warten",
        "Das hat sich doch nicht erledigt",
        "Das ist doch nicht normal!",
        "Ist das Problem gelöst?",
        "Problem gelöst?",
        "Es ist immer noch nicht erledigt",
        "Ich will das Problem gelöst haben",
    ],
)
def test_complaints_and_questions_with_a_withdrawal_phrase_inside_do_not_withdraw(text: str) -> None:
    """On an open ticket these closed it as withdrawn: the customer who complained lost their request."""
    assert classify(text) is not Reply.WITHDRAW


@pytest.mark.parametrize(
    "text",
    ["Das Problem hat sich erledigt", "I've sorted it", "Ach, doch nicht nötig", "Es ist schon erledigt"],
)
def test_a_withdrawal_may_open_with_a_word_or_two(text: str) -> None:
    assert classify(text) is Reply.WITHDRAW


@pytest.mark.parametrize("text", ["nö, passt schon", "nein, passt so", "no, all good", "Nee, alles gut"])
def test_a_no_confirmed_by_its_tail_is_a_no(text: str) -> None:
    assert classify(text) is Reply.NO


def test_yes_pls_is_a_yes() -> None:
    assert classify("yes pls") is Reply.YES


@pytest.mark.parametrize(
    "text",
    [
        "yes, pass me on",
        "bitte weiterleiten",
        "Ja, gib mich weiter",
        "okay pass me on",
        "Nein, bitte weiterleiten",
    ],
)
def test_echoing_the_offer_asks_for_a_person(text: str) -> None:
    assert asks_to_be_passed_on(text)


@pytest.mark.parametrize("text", ["bitte nicht weiterleiten", "don't pass me on", "nein, nicht an das Team"])
def test_a_negated_pass_on_is_not_a_request(text: str) -> None:
    assert not asks_to_be_passed_on(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hallo, ich habe eine Frage zu meiner Rechnung.",
        "Hi, I have a question about my bill",
        "kurze Frage zum Router",
    ],
)
def test_an_opener_with_its_topic_announces_it(text: str) -> None:
    assert announces_topic(text) and not is_pleasantry(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ich habe eine Frage zu meiner Rechnung, die ist viel zu hoch",  # the question itself
        "Hallo, ich habe eine Frage",  # no topic: a plain pleasantry
        "Frage zu meiner Rechnung",
        "Ich habe ein Problem mit dem Router",
    ],
)
def test_what_does_not_announce_a_topic(text: str) -> None:
    assert not announces_topic(text)
