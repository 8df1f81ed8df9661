"""Every branch of the dialogue policy, on hand-built analyses (no matcher, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.model import (
    Analysis,
    Candidate,
    Intent,
    MatchResult,
    PartMatch,
    Priority,
    Reason,
    Settings,
    ToneResult,
)
from bot.core.policy import (
    Clarify,
    ConversationState,
    Decision,
    Escalate,
    ForwardToTicket,
    RaisePriority,
    RecordRating,
    SendAnswer,
    SendMessage,
    Situation,
    Turn,
    Withdraw,
    decide,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    languages=("de", "en"), min_score=75, ambiguity_margin=6, max_misses=2, anger_threshold=60
)


def _intent(intent_id: str, **kwargs: object) -> Intent:
    return Intent(
        id=intent_id,
        title={"de": intent_id, "en": intent_id},
        examples={"de": ("x",), "en": ("x",)},
        answers={"de": ("a",), "en": ("a",)},
        **kwargs,  # type: ignore[arg-type]
    )


INTENTS = {
    "invoice_copy": _intent("invoice_copy", follow_up=("payment_methods",)),
    "payment_methods": _intent("payment_methods"),
    "fault_report": _intent("fault_report", escalate=True),
    "picky": _intent("picky", min_score=95),
}


def _analysis(*scores: tuple[str, float], anger: float = 0.0, wants_human: bool = False) -> Analysis:
    candidates = tuple(Candidate(i, s, f"example of {i}", "de") for i, s in scores)
    tone = ToneResult(anger=anger, reasons=("test",) if anger else (), wants_human=wants_human)
    return Analysis(language="de", match=MatchResult(candidates, "de"), tone=tone)


def _decide(
    analysis: Analysis | None = None,
    *,
    state: ConversationState | None = None,
    situation: Situation | None = None,
    text: str = "some text",
    payload: str | None = None,
    attachment: str | None = None,
    now: datetime = NOW,
) -> Decision:
    turn = Turn(now=now, text=text, analysis=analysis, attachment=attachment, payload=payload)
    return decide(state or ConversationState(), turn, situation or Situation(), SETTINGS, INTENTS)


def test_clear_match_is_answered_with_follow_ups_and_resets_misses() -> None:
    decision = _decide(
        _analysis(("invoice_copy", 91), ("payment_methods", 60)), state=ConversationState(misses=1)
    )
    assert decision.actions == (SendAnswer("invoice_copy", ("intent:payment_methods",)),)
    assert decision.outcome == "invoice_copy"
    assert decision.state.misses == 0
    assert "91.0 against 'example of invoice_copy'" in decision.explanation
    assert "runner-up" not in decision.explanation  # 60 is below the threshold


def test_explanation_names_runner_up_above_threshold() -> None:
    decision = _decide(_analysis(("invoice_copy", 95), ("payment_methods", 80)))
    assert decision.outcome == "invoice_copy"
    assert "runner-up payment_methods 80.0" in decision.explanation


def test_close_candidates_get_one_clarifying_question() -> None:
    decision = _decide(_analysis(("invoice_copy", 84), ("payment_methods", 80), ("fault_report", 50)))
    assert decision.actions == (Clarify(("invoice_copy", "payment_methods")),)
    assert decision.outcome == "clarify"
    assert decision.state.clarifications == 1


def test_second_ambiguity_goes_to_a_human() -> None:
    state = ConversationState(clarifications=1, clarify_options=("invoice_copy", "payment_methods"))
    decision = _decide(_analysis(("invoice_copy", 84), ("payment_methods", 80)), state=state)
    assert decision.actions == (Escalate(Reason.AMBIGUOUS, Priority.NORMAL),)
    assert decision.state.clarifications == 0


def test_near_miss_offers_the_candidates_but_counts_as_a_miss() -> None:
    decision = _decide(_analysis(("invoice_copy", 66), ("payment_methods", 61), ("fault_report", 30)))
    assert decision.actions == (Clarify(("invoice_copy", "payment_methods")),)
    assert decision.outcome == "clarify"
    assert decision.state.misses == 1
    # Issue #13 finding 4: a near miss far ahead of the rest asks "did you mean" whatever came before...
    again = _decide(_analysis(("invoice_copy", 66)), state=decision.state)
    assert again.actions == (Clarify(("invoice_copy",)),)
    # ...but max_misses still bounds the conversation: the next miss goes to a human.
    third = _decide(_analysis(("invoice_copy", 40)), state=again.state)
    assert third.actions == (Escalate(Reason.UNMATCHED, Priority.NORMAL),)


def test_near_miss_with_a_clear_lead_asks_whatever_came_before() -> None:
    """Issue #13 finding 4 (was: a near miss after a clarifying question was a plain miss)."""
    decision = _decide(_analysis(("invoice_copy", 66)), state=ConversationState(clarifications=1))
    assert decision.outcome == "clarify"
    after_a_miss = _decide(
        _analysis(("invoice_copy", 66), ("payment_methods", 31)), state=ConversationState(misses=1)
    )
    assert after_a_miss.actions == (Clarify(("invoice_copy",)),)


def test_two_near_misses_without_a_lead_after_a_miss_go_to_a_human() -> None:
    decision = _decide(
        _analysis(("invoice_copy", 66), ("payment_methods", 64)), state=ConversationState(misses=1)
    )
    assert decision.actions == (Escalate(Reason.UNMATCHED, Priority.NORMAL),)


def test_first_miss_asks_to_rephrase_and_offers_a_human() -> None:
    decision = _decide(_analysis(("invoice_copy", 40)))
    assert decision.actions == (SendMessage("not_understood", ("human",)),)
    assert decision.state.misses == 1
    assert decision.outcome == "not_understood"


def test_max_misses_in_a_row_escalate() -> None:
    decision = _decide(_analysis(("invoice_copy", 40)), state=ConversationState(misses=1))
    assert decision.actions == (Escalate(Reason.UNMATCHED, Priority.NORMAL),)
    assert decision.state.misses == 0


def test_per_intent_min_score_is_respected() -> None:
    assert _decide(_analysis(("picky", 90))).outcome == "clarify"  # a near miss of its own 95
    assert _decide(_analysis(("picky", 70))).outcome == "not_understood"
    assert _decide(_analysis(("picky", 96))).outcome == "picky"


def test_anger_escalates_with_high_priority_even_when_an_intent_matches() -> None:
    decision = _decide(_analysis(("invoice_copy", 95), anger=70))
    assert decision.actions == (Escalate(Reason.ANGRY, Priority.HIGH, "handoff_angry"),)


def test_extreme_anger_is_urgent() -> None:
    decision = _decide(_analysis(anger=95))
    assert decision.actions == (Escalate(Reason.ANGRY, Priority.URGENT, "handoff_angry"),)


@pytest.mark.parametrize(
    ("text", "payload", "wants_human"),
    [
        ("/human", None, False),
        ("/human@carebot", None, False),
        ("Talk to a human", "human", False),
        ("x", None, True),
    ],
)
def test_requests_for_a_human_escalate(text: str, payload: str | None, wants_human: bool) -> None:
    analysis = None if payload else _analysis(("invoice_copy", 95), wants_human=wants_human)
    decision = _decide(analysis, text=text, payload=payload)
    assert decision.actions == (Escalate(Reason.REQUESTED, Priority.NORMAL),)


def test_annoyed_request_for_a_human_goes_up_the_queue() -> None:
    decision = _decide(_analysis(anger=40, wants_human=True))
    assert decision.actions == (Escalate(Reason.REQUESTED, Priority.HIGH),)


def test_escalating_intent_answers_then_hands_over_without_dead_follow_ups() -> None:
    escalating = {
        **INTENTS,
        "fault_report": _intent("fault_report", escalate=True, follow_up=("invoice_copy",)),
    }
    turn = Turn(now=NOW, text="x", analysis=_analysis(("fault_report", 92)))
    decision = decide(ConversationState(), turn, Situation(), SETTINGS, escalating)
    # One coherent message: the answer, then "I've also passed it on" (issue #13), not two hotlines.
    assert decision.actions == (
        SendAnswer("fault_report", joined=True),
        Escalate(Reason.INTENT, Priority.NORMAL, "handoff_after_answer"),
    )
    assert decision.outcome == "fault_report"


def test_attachment_goes_to_a_human() -> None:
    decision = _decide(None, text="", attachment="photo")
    assert decision.actions == (Escalate(Reason.ATTACHMENT, Priority.NORMAL),)


def test_intent_button_answers_that_intent() -> None:
    decision = _decide(None, payload="intent:payment_methods", state=ConversationState(clarifications=1))
    assert decision.actions == (SendAnswer("payment_methods"),)
    assert decision.state.clarifications == 0


def test_none_of_these_asks_once_to_rephrase_then_escalates_instead_of_guessing_again() -> None:
    """Issue #13 finding 3: the first "none of these" invites other words; the second goes to a human."""
    first = _decide(None, payload="none", state=ConversationState(clarifications=1))
    assert first.actions == (SendMessage("rephrase", ("human",)),)
    assert first.outcome == "rephrase"
    second = _decide(None, payload="none", state=replace(first.state, clarify_options=("invoice_copy",)))
    assert second.actions == (Escalate(Reason.AMBIGUOUS, Priority.NORMAL),)


def test_stale_intent_button_is_treated_as_a_miss() -> None:
    decision = _decide(None, payload="intent:removed_by_reload")
    assert decision.outcome == "not_understood"


def test_while_a_human_has_the_ticket_the_bot_only_acks_once_per_quiet_period() -> None:
    situation = Situation(active_ticket_id=7)
    first = _decide(_analysis(("invoice_copy", 99)), situation=situation)
    assert first.actions == (ForwardToTicket(7), SendMessage("handoff_ack"))
    assert first.outcome == "forward"

    soon = _decide(
        _analysis(("invoice_copy", 99)),
        state=first.state,
        situation=situation,
        now=NOW + timedelta(minutes=5),
    )
    assert soon.actions == (ForwardToTicket(7),)

    later = soon.state
    quiet = _decide(
        None, state=later, situation=situation, now=NOW + timedelta(minutes=5 + 31), text="hello?"
    )
    assert quiet.actions == (ForwardToTicket(7), SendMessage("handoff_ack"))


def test_a_new_ticket_gets_its_own_ack() -> None:
    state = ConversationState(last_ack_at=NOW, ack_ticket_id=7)
    decision = _decide(
        None, state=state, situation=Situation(active_ticket_id=8), now=NOW + timedelta(minutes=1)
    )
    assert decision.actions == (ForwardToTicket(8), SendMessage("handoff_ack"))


def test_even_angry_messages_go_to_the_human_who_has_the_ticket() -> None:
    decision = _decide(_analysis(anger=99), situation=Situation(active_ticket_id=3))
    assert isinstance(decision.actions[0], ForwardToTicket)


def test_rating_button_and_typed_rating() -> None:
    assert _decide(None, payload="rate:12:5").actions == (RecordRating(12, 5),)
    typed = _decide(_analysis(), text=" 4 ", situation=Situation(pending_rating_ticket_id=12))
    assert typed.actions == (RecordRating(12, 4),)


def test_digits_without_a_pending_rating_are_ordinary_text() -> None:
    assert _decide(_analysis(), text="4").outcome == "not_understood"
    assert _decide(None, payload="rate:12:9").outcome == "not_understood"


def test_language_of_the_analysis_is_remembered() -> None:
    analysis = Analysis(language="en", match=MatchResult((), "en"))
    assert _decide(analysis).state.language == "en"


def test_state_round_trips_through_json_and_tolerates_garbage() -> None:
    state = ConversationState(
        language="de",
        greeted=True,
        misses=1,
        clarifications=1,
        clarify_options=("a", "b"),
        last_ack_at=NOW,
        ack_ticket_id=3,
    )
    assert ConversationState.from_json(state.to_json()) == state
    assert ConversationState.from_json(None) == ConversationState()
    assert ConversationState.from_json("not json") == ConversationState()
    assert ConversationState.from_json('{"last_ack_at": "yesterday", "misses": 2}') == ConversationState(
        misses=2
    )


# --- issue #13: never trap a customer --------------------------------------------------------------------


def test_an_unclaimed_ticket_still_gets_clear_answers_recorded_on_it() -> None:
    """Finding 1: a ticket nobody has picked up does not silence the bot."""
    waiting = Situation(active_ticket_id=7, ticket_owned=False)
    decision = _decide(_analysis(("invoice_copy", 91)), situation=waiting)
    assert decision.actions == (ForwardToTicket(7), SendAnswer("invoice_copy", ("intent:payment_methods",)))
    assert decision.outcome == "invoice_copy"
    unclear = _decide(_analysis(("invoice_copy", 40)), situation=waiting)
    assert unclear.actions == (ForwardToTicket(7), SendMessage("handoff_ack"))
    owned = _decide(_analysis(("invoice_copy", 91)), situation=Situation(active_ticket_id=7))
    assert owned.outcome == "forward"


def test_withdrawing_closes_the_ticket_whoever_has_it() -> None:
    for owned in (False, True):
        situation = Situation(active_ticket_id=7, ticket_owned=owned)
        by_words = _decide(_analysis(), text="hat sich erledigt", situation=situation)
        assert by_words.actions[:2] == (ForwardToTicket(7), Withdraw(7))
        assert by_words.outcome == "withdrawn"
        by_button = _decide(None, payload="withdraw:7", situation=situation)
        assert by_button.outcome == "withdrawn"
        older = _decide(None, payload="withdraw", situation=situation)  # a button sent before ids
        assert older.outcome == "withdrawn"


def test_an_earlier_hand_overs_button_never_withdraws_a_later_ticket() -> None:
    """Buttons stay pressable on old messages (Telegram keeps them): #3's "never mind" must not end #7."""
    decision = _decide(None, payload="withdraw:3", situation=Situation(active_ticket_id=7))
    assert decision.outcome == "acknowledged"
    assert not any(isinstance(action, Withdraw) for action in decision.actions)
    closed = _decide(None, payload="withdraw:3")  # no open ticket at all: nothing to undo
    assert closed.outcome == "acknowledged"


@pytest.mark.parametrize("text", ["no", "nein", "nee", "nö", "nope", "nein danke"])
def test_no_to_the_offer_of_a_human_declines(text: str) -> None:
    """Finding 2: "no" after "… or I can pass you on" was counted as a miss and opened a ticket."""
    missed = _decide(_analysis(("invoice_copy", 40)))
    decision = _decide(_analysis(), text=text, state=missed.state)
    assert decision.actions == (SendMessage("declined"),)
    assert decision.state.misses == 0


@pytest.mark.parametrize("text", ["ja", "jo", "ja bitte", "yes please"])
def test_yes_to_the_offer_of_a_human_hands_over(text: str) -> None:
    missed = _decide(_analysis(("invoice_copy", 40)))
    decision = _decide(_analysis(), text=text, state=missed.state)
    assert decision.actions == (Escalate(Reason.REQUESTED, Priority.NORMAL),)


def test_yes_and_no_to_did_you_mean() -> None:
    asked = _decide(_analysis(("invoice_copy", 66)))
    assert asked.actions == (Clarify(("invoice_copy",)),)
    yes = _decide(_analysis(), text="jo", state=asked.state)
    assert yes.actions == (SendAnswer("invoice_copy", ("intent:payment_methods",)),)
    no = _decide(_analysis(), text="nein", state=asked.state)
    assert no.actions == (SendMessage("rephrase", ("human",)),)
    several = _decide(_analysis(("invoice_copy", 84), ("payment_methods", 80)))
    again = _decide(_analysis(), text="ja", state=several.state)
    assert again.actions == (Clarify(("invoice_copy", "payment_methods")),)
    assert again.state.clarifications == several.state.clarifications


def test_acknowledgements_help_and_unknown_commands_are_not_misses() -> None:
    """Finding 8."""
    state = ConversationState(misses=1)
    for text in ("👍", "ok", "alles klar"):
        decision = _decide(_analysis(("invoice_copy", 20)), text=text, state=state)
        assert decision.outcome == "acknowledged" and decision.state.misses == 1
    for text in ("/help", "/hilfe", "/resolve", "/queue@carebot"):
        decision = _decide(_analysis(("invoice_copy", 62)), text=text, state=state)
        assert decision.actions == (SendMessage("help"),) and decision.state.misses == 1


def test_an_acknowledgement_the_folder_answers_is_answered() -> None:
    decision = _decide(_analysis(("payment_methods", 90)), text="danke")
    assert decision.outcome == "payment_methods"


def _parts(*parts: tuple[str, tuple[str, float]]) -> tuple[PartMatch, ...]:
    return tuple(PartMatch(text, MatchResult((Candidate(i, s, "x", "de"),), "de")) for text, (i, s) in parts)


def test_several_questions_are_answered_in_order() -> None:
    """Finding 5: the PIN question was silently dropped."""
    analysis = replace(
        _analysis(("payment_methods", 80), ("invoice_copy", 40)),
        parts=_parts(("a", ("invoice_copy", 95)), ("b", ("payment_methods", 90))),
    )
    decision = _decide(analysis)
    assert [type(a) for a in decision.actions] == [SendAnswer, SendAnswer]
    assert decision.answered == ("invoice_copy", "payment_methods")


def test_one_clear_question_and_one_unclear_answers_the_clear_and_says_so() -> None:
    analysis = replace(
        _analysis(("payment_methods", 50)),
        parts=_parts(("a", ("invoice_copy", 30)), ("b", ("payment_methods", 90))),
    )
    decision = _decide(analysis)
    assert decision.actions == (SendAnswer("payment_methods"), SendMessage("partly_understood", ("human",)))
    # When the whole message is clear, one answer is enough: the unclear rest was part of it.
    whole = replace(analysis, match=MatchResult((Candidate("payment_methods", 90, "x", "de"),), "de"))
    assert _decide(whole).actions == (SendAnswer("payment_methods"),)


def test_an_escalating_intent_sets_the_priority_and_anger_can_raise_it() -> None:
    """Finding 6: a stolen phone was a normal ticket."""
    intents = {**INTENTS, "fault_report": _intent("fault_report", escalate=True, priority=Priority.HIGH)}
    turn = Turn(now=NOW, text="x", analysis=_analysis(("fault_report", 92)))
    decision = decide(ConversationState(), turn, Situation(), SETTINGS, intents)
    assert decision.actions[-1] == Escalate(Reason.INTENT, Priority.HIGH, "handoff_after_answer")
    low = {**INTENTS, "fault_report": _intent("fault_report", escalate=True, priority=Priority.LOW)}
    annoyed = Turn(now=NOW, text="x", analysis=_analysis(("fault_report", 92), anger=40))
    raised = decide(ConversationState(), annoyed, Situation(), SETTINGS, low)
    assert raised.actions[-1] == Escalate(Reason.INTENT, Priority.HIGH, "handoff_after_answer")


def test_anger_never_lowers_the_priority_an_escalating_intent_asks_for() -> None:
    intents = {**INTENTS, "fault_report": _intent("fault_report", escalate=True, priority=Priority.URGENT)}
    turn = Turn(now=NOW, text="x", analysis=_analysis(("fault_report", 92), anger=70))
    decision = decide(ConversationState(), turn, Situation(), SETTINGS, intents)
    assert decision.actions == (Escalate(Reason.ANGRY, Priority.URGENT, "handoff_angry"),)


def test_a_question_after_never_mind_is_answered_as_well() -> None:
    situation = Situation(active_ticket_id=7, ticket_owned=True)
    decision = _decide(
        _analysis(("payment_methods", 90)), text="Never mind. How do I pay by paypal?", situation=situation
    )
    assert decision.outcome == "withdrawn"
    assert decision.actions[1:] == (
        Withdraw(7),
        SendMessage("withdrawn", values=(("ticket_id", "7"),)),
        SendAnswer("payment_methods"),
    )


def test_anger_on_an_unclaimed_ticket_raises_it_by_the_new_ticket_rule() -> None:
    waiting = Situation(active_ticket_id=7, ticket_owned=False, ticket_priority=Priority.NORMAL)
    high = _decide(_analysis(("nothing", 10), anger=70), situation=waiting)
    assert high.outcome == "forward"
    assert RaisePriority(7, Priority.HIGH, "anger 70") in high.actions
    urgent = _decide(_analysis(("nothing", 10), anger=95), situation=waiting)
    assert RaisePriority(7, Priority.URGENT, "anger 95") in urgent.actions
    # Never lower, never sideways; no raise below the threshold or once a person owns the ticket.
    already = replace(waiting, ticket_priority=Priority.URGENT)
    assert not [
        a for a in _decide(_analysis(anger=95), situation=already).actions if isinstance(a, RaisePriority)
    ]
    calm = _decide(_analysis(("nothing", 10), anger=40), situation=waiting)
    assert not [a for a in calm.actions if isinstance(a, RaisePriority)]
    owned = replace(waiting, ticket_owned=True)
    assert not [
        a for a in _decide(_analysis(anger=95), situation=owned).actions if isinstance(a, RaisePriority)
    ]


def test_an_urgent_intent_answered_while_waiting_raises_the_ticket() -> None:
    intents = {**INTENTS, "fault_report": _intent("fault_report", escalate=True, priority=Priority.URGENT)}
    waiting = Situation(active_ticket_id=7, ticket_owned=False, ticket_priority=Priority.NORMAL)
    turn = Turn(now=NOW, text="x", analysis=_analysis(("fault_report", 92)))
    decision = decide(ConversationState(), turn, waiting, SETTINGS, intents)
    assert decision.actions == (
        ForwardToTicket(7),
        RaisePriority(7, Priority.URGENT, "fault_report"),
        SendAnswer("fault_report"),
    )


PLEASANT = {
    **INTENTS,
    "hello": Intent(
        id="hello",
        title={"de": "Hallo", "en": "Hello"},
        examples={"de": ("Hallo", "Guten Tag", "Hallo, ich habe eine Frage"), "en": ("hello", "hi there")},
        answers={"de": ("Hallo!",), "en": ("Hello!",)},
    ),
}


def test_a_greeting_part_is_not_answered_next_to_a_real_question() -> None:
    """ "Hallo, ich habe eine Frage zu meiner Rechnung. Die ist viel zu hoch." gets the bill, not "Hallo!"."""
    analysis = replace(
        _analysis(("invoice_copy", 70), ("hello", 30)),
        parts=_parts(
            ("Hallo, ich habe eine Frage zu meiner Rechnung.", ("hello", 80)), ("b", ("invoice_copy", 90))
        ),
    )
    turn = Turn(now=NOW, text="x", analysis=analysis)
    decision = decide(ConversationState(), turn, Situation(), SETTINGS, PLEASANT)
    assert decision.actions == (SendAnswer("invoice_copy", ("intent:payment_methods",)),)
    # With two real questions, both are answered and the greeting still is not.
    three = replace(analysis, parts=(*analysis.parts, *_parts(("c", ("payment_methods", 90)))))
    decision = decide(
        ConversationState(), Turn(now=NOW, text="x", analysis=three), Situation(), SETTINGS, PLEASANT
    )
    assert decision.answered == ("invoice_copy", "payment_methods")


def test_a_greeting_alone_or_with_only_pleasantries_is_still_answered() -> None:
    greeted = ConversationState(greeted=True)
    alone = Turn(now=NOW, text="Hallo", analysis=_analysis(("hello", 95)))
    assert decide(greeted, alone, Situation(), SETTINGS, PLEASANT).answered == ("hello",)
    polite = replace(
        _analysis(("hello", 40)),
        parts=_parts(("Guten Morgen zusammen.", ("hello", 80)), ("Danke im Voraus!", ("x", 0))),
    )
    turn = Turn(now=NOW, text="x", analysis=polite)
    assert decide(greeted, turn, Situation(), SETTINGS, PLEASANT).answered == ("hello",)
    # As the very first message, the greeting the engine sends first is the answer: no second introduction.
    first = decide(ConversationState(), alone, Situation(), SETTINGS, PLEASANT)
    assert (first.outcome, first.actions) == ("hello", ())


def test_a_greeting_next_to_an_unclear_question_is_a_miss_not_a_greeting() -> None:
    analysis = replace(
        _analysis(("hello", 80), ("invoice_copy", 20)),
        parts=_parts(
            ("Hallo, ich habe eine Frage.", ("hello", 85)),
            ("Wie wird das Wetter auf dem Mars?", ("invoice_copy", 20)),
        ),
    )
    decision = decide(
        ConversationState(), Turn(now=NOW, text="x", analysis=analysis), Situation(), SETTINGS, PLEASANT
    )
    assert decision.outcome == "not_understood" and decision.answered == ()


@pytest.mark.parametrize("typed", ["Nein, etwas anderes", "No, something else", "keins davon"])
def test_typing_the_something_else_label_asks_to_rephrase_like_the_button(typed: str) -> None:
    """After a near miss (already one miss), a typed "something else" opened a ticket at once."""
    state = ConversationState(misses=1, clarify_options=("invoice_copy",))
    decision = _decide(_analysis(("invoice_copy", 20)), state=state, text=typed)
    assert decision.outcome == "rephrase"
    assert decision.actions == (SendMessage("rephrase", ("human",)),)


def test_a_greeting_while_waiting_for_a_person_is_not_answered_with_hello() -> None:
    """ "Hallo??" on a waiting ticket means "anyone there?": the hand-over acknowledgement, not "Worum geht es?"."""
    waiting = Situation(active_ticket_id=7, ticket_owned=False, ticket_priority=Priority.NORMAL)
    turn = Turn(now=NOW, text="Hallo??", analysis=_analysis(("hello", 95)))
    decision = decide(ConversationState(), turn, waiting, SETTINGS, PLEASANT)
    assert decision.outcome == "forward"
    assert decision.actions == (ForwardToTicket(7), SendMessage("handoff_ack"))


def test_no_to_the_offer_that_names_the_human_declines_it() -> None:
    """ "no I don't want a human" after "... or shall I pass you on?" opened a ticket (the tone heard "human")."""
    offered = ConversationState(misses=1, offer="human", rephrase_asked=True)
    analysis = _analysis(("invoice_copy", 20), wants_human=True)
    for text in ("no I don't want a human", "Ich will mit keinem Menschen reden"):
        decision = _decide(analysis, state=offered, text=text)
        assert (decision.outcome, decision.actions) == ("declined", (SendMessage("declined"),))
    # Asked for, a person still comes at once; so does a no to anything else followed by a request.
    assert _decide(analysis, state=offered, text="Nein, ich will einen Mitarbeiter").outcome == "escalate"
    assert _decide(analysis, text="I want a human").outcome == "escalate"


def test_a_yes_or_no_after_partly_understood_answers_its_offer_of_a_person() -> None:
    """ "… Or I can pass you on to our team": a yes got "You're welcome!" and no person."""
    analysis = replace(
        _analysis(("payment_methods", 50)),
        parts=_parts(("a", ("invoice_copy", 30)), ("b", ("payment_methods", 90))),
    )
    partly = _decide(analysis)
    assert partly.actions[-1] == SendMessage("partly_understood", ("human",))
    assert _decide(_analysis(), state=partly.state, text="ja bitte").outcome == "escalate"
    assert _decide(_analysis(), state=partly.state, text="nein").outcome == "declined"


def test_help_while_waiting_for_a_person_is_the_help_and_the_owner_sees_it() -> None:
    waiting = Situation(active_ticket_id=7, ticket_owned=False)
    decision = _decide(None, text="/help", situation=waiting)
    assert (decision.outcome, decision.actions) == ("help", (ForwardToTicket(7), SendMessage("help")))
    assert _decide(None, text="/resolve", situation=waiting).outcome == "help"
    # Once a person owns the ticket, the bot stays out of the way; /human always just joins the ticket.
    assert _decide(None, text="/help", situation=replace(waiting, ticket_owned=True)).outcome == "forward"
    assert _decide(None, text="/human", situation=waiting).outcome == "forward"


def test_echoing_the_offer_hands_over_and_a_confirmed_no_declines() -> None:
    """ "nö, passt schon" after the offer was a second miss and opened a ticket; "bitte weiterleiten" out
    of context was a miss."""
    offered = ConversationState(misses=1, offer="human", rephrase_asked=True)
    assert (
        _decide(_analysis(("invoice_copy", 20)), state=offered, text="nö, passt schon").outcome == "declined"
    )
    assert _decide(_analysis(("invoice_copy", 20)), text="bitte weiterleiten").outcome == "escalate"
    assert (
        _decide(_analysis(("invoice_copy", 20)), state=offered, text="yes, pass me on").outcome == "escalate"
    )


@pytest.mark.parametrize(
    ("text", "rating"),
    [("5", 5), ("5/5", 5), ("4 Sterne", 4), ("5 stars!", 5), ("3 von 5", 3), ("⭐⭐⭐⭐", 4)],
)
def test_a_rating_in_the_words_people_use_is_a_rating(text: str, rating: int) -> None:
    """ "4 Sterne" after "rate from 1 to 5" was a miss (two such and the customer had a new ticket)."""
    decision = _decide(None, text=text, situation=Situation(pending_rating_ticket_id=9))
    assert decision.actions == (RecordRating(9, rating),)


@pytest.mark.parametrize("text", ["6", "5 Tage kein Internet", "0/5"])
def test_other_numbers_are_not_ratings(text: str) -> None:
    decision = _decide(_analysis(), text=text, situation=Situation(pending_rating_ticket_id=9))
    assert decision.outcome != "rating"
