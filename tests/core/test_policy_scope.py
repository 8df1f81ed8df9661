"""Where #13's dialogue rules meet #14's matcher: pleasantry intents that score high on short replies,
greeting parts next to questions, parts out of scope, and what a waiting ticket gets answered."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.model import (
    Analysis,
    Candidate,
    Intent,
    MatchResult,
    PartMatch,
    Priority,
    Settings,
    ToneResult,
)
from bot.core.policy import (
    OFFER_HUMAN,
    Clarify,
    ConversationState,
    Decision,
    ForwardToTicket,
    RaisePriority,
    SendAnswer,
    SendMessage,
    Situation,
    Turn,
    decide,
)

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SETTINGS = Settings(
    languages=("de",),
    min_score=50,
    ambiguity_margin=10,
    lead_ratio=0.4,
    lead_min_score=30,
    suggest_band=35,
    suggest_min_score=15,
)


def _intent(intent_id: str, examples: tuple[str, ...] = ("x",), **kwargs: object) -> Intent:
    return Intent(
        id=intent_id,
        title={"de": intent_id},
        examples={"de": examples},
        answers={"de": ("a",)},
        **kwargs,  # type: ignore[arg-type]
    )


INTENTS = {
    "thanks": _intent("thanks", ("Danke", "Vielen Dank", "Alles klar, danke")),
    "hello": _intent("hello", ("Hallo", "Guten Tag")),
    "invoice_copy": _intent("invoice_copy"),
    "invoice_wrong": _intent("invoice_wrong"),
    "payment_methods": _intent("payment_methods"),
    "cancellation": _intent("cancellation"),
    "complaint": _intent("complaint", escalate=True),
    "sim_block": _intent("sim_block", escalate=True, priority=Priority.URGENT),
}

OOS = "nearest to 'oos_small_talk'"


def _match(*scores: tuple[str, float], out_of_scope: str = "") -> MatchResult:
    return MatchResult(tuple(Candidate(i, s, "x", "de") for i, s in scores), "de", out_of_scope=out_of_scope)


def _decide(
    text: str,
    *scores: tuple[str, float],
    parts: tuple[PartMatch, ...] = (),
    state: ConversationState | None = None,
    situation: Situation | None = None,
    anger: float = 0.0,
) -> Decision:
    analysis = Analysis(
        language="de",
        match=_match(*scores),
        tone=ToneResult(anger=anger, reasons=("test",) if anger else ()),
        parts=parts,
    )
    turn = Turn(now=NOW, text=text, analysis=analysis)
    return decide(state or ConversationState(greeted=True), turn, situation or Situation(), SETTINGS, INTENTS)


def test_a_short_no_or_ok_is_not_answered_by_a_pleasantry_intent() -> None:
    offered = ConversationState(greeted=True, offer=OFFER_HUMAN)
    assert _decide("nein danke", ("thanks", 85.0), state=offered).outcome == "declined"
    assert _decide("alles gut", ("thanks", 55.8)).outcome == "acknowledged"
    assert _decide("nein danke", ("thanks", 85.0)).outcome == "help"  # a no to nothing the bot asked
    # A real question in a short message is still a question.
    assert _decide("ok, wie kann ich bezahlen", ("payment_methods", 90.0)).outcome == "payment_methods"


def test_a_greeting_beside_an_out_of_scope_question_is_out_of_scope_without_did_you_mean() -> None:
    parts = (
        PartMatch("Hallo, ich habe eine Frage.", _match(("hello", 100.0))),
        PartMatch("Wie wird das Wetter auf dem Mars?", _match(("invoice_copy", 20.9), out_of_scope=OOS)),
    )
    text = "Hallo, ich habe eine Frage. Wie wird das Wetter auf dem Mars?"
    decision = _decide(text, ("hello", 41.8), ("payment_reminder", 18.9), parts=parts)
    assert decision.outcome == "not_understood" and "out of scope" in decision.explanation
    assert decision.state.offer == OFFER_HUMAN  # so that "nein" declines


def test_a_merely_unclear_part_keeps_the_near_miss() -> None:
    parts = (
        PartMatch("Hallo, ich habe eine Frage.", _match(("hello", 100.0))),
        PartMatch("Wie geht das mit der Rechnung?", _match(("invoice_copy", 30.0), ("invoice_wrong", 28.0))),
    )
    decision = _decide("…", ("invoice_copy", 40.0), ("invoice_wrong", 38.0), parts=parts)
    assert decision.outcome == "clarify"


def test_a_clear_part_next_to_an_out_of_scope_part_is_answered_and_the_rest_named() -> None:
    parts = (
        PartMatch("Wie wird das Wetter auf dem Mars", _match(("cancellation", 20.0), out_of_scope=OOS)),
        PartMatch("wie kann ich bezahlen?", _match(("payment_methods", 100.0))),
    )
    # The whole message matches payment_methods too; the weather question must not vanish silently.
    decision = _decide("…", ("payment_methods", 65.0), parts=parts)
    assert decision.answered == ("payment_methods",)
    assert decision.actions[-1] == SendMessage("partly_understood", ("human",))
    assert decision.state.offer == OFFER_HUMAN


def test_an_opener_that_announces_the_topic_is_left_out_next_to_the_question() -> None:
    parts = (
        PartMatch("Hallo, ich habe eine Frage zu meiner Rechnung.", _match(("invoice_copy", 54.3))),
        PartMatch("Die ist viel zu hoch.", _match(("invoice_wrong", 83.6))),
    )
    decision = _decide("…", ("invoice_wrong", 72.7), parts=parts)
    assert decision.answered == ("invoice_wrong",)


def test_a_waiting_ticket_gets_the_clear_question_answered_beside_an_unclear_outburst() -> None:
    parts = (
        PartMatch("Wie kann ich kündigen???", _match(("cancellation", 100.0))),
        PartMatch(
            "Ihr seid BETRÜGER!!! Eine Frechheit!!!",
            _match(("invoice_wrong", 40.7), ("payment_methods", 26.1)),
        ),
    )
    waiting = Situation(active_ticket_id=4, ticket_owned=False, ticket_priority=Priority.NORMAL)
    decision = _decide(
        "…", ("cancellation", 49.1), ("invoice_wrong", 25.8), parts=parts, situation=waiting, anger=91
    )
    assert decision.outcome == "cancellation"
    assert decision.actions[:2] == (ForwardToTicket(4), RaisePriority(4, Priority.URGENT, "anger 91"))


def test_a_waiting_ticket_does_not_get_a_complaint_answer_but_an_urgent_intent_still_is() -> None:
    waiting = Situation(active_ticket_id=5, ticket_owned=False, ticket_priority=Priority.NORMAL)
    decision = _decide("Ich will doch nicht ewig warten", ("complaint", 50.6), situation=waiting)
    assert decision.outcome == "forward" and decision.actions[0] == ForwardToTicket(5)
    stolen = _decide("Mein Handy wurde gestohlen", ("sim_block", 95.0), situation=waiting)
    assert stolen.outcome == "sim_block"
    assert RaisePriority(5, Priority.URGENT, "sim_block") in stolen.actions
    assert any(isinstance(a, SendAnswer) for a in stolen.actions)
    assert not any(isinstance(a, Clarify) for a in stolen.actions)


def _outside(intent_id: str, *scores: tuple[str, float]) -> MatchResult:
    reason = f"nearest to {intent_id!r} (out_of_scope, 56.8, 31.0 ahead)"
    return MatchResult(
        tuple(Candidate(i, s, "x", "de") for i, s in scores),
        "de",
        out_of_scope=reason,
        out_of_scope_intent=intent_id,
    )


def _decide_whole(text: str, whole: MatchResult, parts: tuple[PartMatch, ...]) -> Decision:
    analysis = Analysis(language="de", match=whole, tone=ToneResult(anger=0.0, reasons=()), parts=parts)
    turn = Turn(now=NOW, text=text, analysis=analysis)
    return decide(ConversationState(greeted=True), turn, Situation(), SETTINGS, INTENTS)


def test_a_part_that_repeats_the_out_of_scope_topic_of_the_whole_message_is_not_answered() -> None:
    parts = (
        PartMatch("macht ihr auch kfz versicherungen?", _outside("oos_other_products", ("complaint", 20.0))),
        PartMatch("mein auto muss neu versichert werden", _match(("cancellation", 54.0))),
    )
    whole = _outside("oos_other_products", ("cancellation", 25.9))
    decision = _decide_whole(
        "macht ihr auch kfz versicherungen? mein auto muss neu versichert werden", whole, parts
    )
    assert decision.outcome == "not_understood" and "out of scope" in decision.explanation
    assert not any(isinstance(action, Clarify) for action in decision.actions)


def test_a_clear_question_beside_another_out_of_scope_topic_is_still_answered() -> None:
    parts = (
        PartMatch("what's the weather on mars", _outside("oos_small_talk", ("complaint", 20.0))),
        PartMatch("how do I pay?", _match(("payment_methods", 90.0))),
    )
    whole = _outside("oos_other_companies", ("payment_methods", 31.4))
    decision = _decide_whole("what's the weather on mars and how do I pay?", whole, parts)
    assert decision.answered == ("payment_methods",)
    assert decision.actions[-1] == SendMessage("partly_understood", ("human",))
