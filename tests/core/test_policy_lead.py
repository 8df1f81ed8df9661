"""The policy's use of the matcher's lead and out-of-scope evidence (issue #14's decision rule)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.core.model import Analysis, Candidate, Intent, MatchResult, Settings
from bot.core.policy import Clarify, ConversationState, SendAnswer, SendMessage, Situation, Turn, decide

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SETTINGS = Settings(
    languages=("de",), min_score=55, ambiguity_margin=10, lead_ratio=0.5, lead_min_score=30, suggest_band=35
)


def _intent(intent_id: str) -> Intent:
    return Intent(id=intent_id, title={"de": intent_id}, examples={"de": ("x",)}, answers={"de": ("a",)})


INTENTS = {name: _intent(name) for name in ("invoice_copy", "invoice_wrong", "device_insurance")}


def _outcome(
    *scores: tuple[str, float], out_of_scope: str = "", settings: Settings = SETTINGS
) -> tuple[str, tuple[object, ...]]:
    match = MatchResult(tuple(Candidate(i, s, "x", "de") for i, s in scores), "de", out_of_scope=out_of_scope)
    decision = decide(
        ConversationState(),
        Turn(now=NOW, text="t", analysis=Analysis(language="de", match=match)),
        Situation(),
        settings,
        INTENTS,
    )
    return decision.outcome, decision.actions


def test_a_clear_lead_is_answered_below_the_threshold() -> None:
    # Like "brauch ne kopie von der letzten abrechnung, hab die mail aus versehen gelöscht" in issue #14.
    outcome, actions = _outcome(("invoice_copy", 48.0), ("invoice_wrong", 22.7))
    assert outcome == "invoice_copy" and actions == (SendAnswer("invoice_copy"),)


def test_a_modest_score_without_a_clear_lead_gets_did_you_mean() -> None:
    outcome, actions = _outcome(("invoice_copy", 48.0), ("invoice_wrong", 25.0))  # more than half of 48
    # 23 points ahead (over 2 x ambiguity_margin): the near miss with a clear lead of #13 offers only it.
    assert outcome == "clarify" and actions == (Clarify(("invoice_copy",)),)
    outcome, actions = _outcome(("invoice_copy", 48.0), ("invoice_wrong", 40.0))
    assert outcome == "clarify" and actions == (Clarify(("invoice_copy", "invoice_wrong")),)


def test_below_lead_min_score_nothing_is_answered_however_clear() -> None:
    assert _outcome(("invoice_copy", 28.0))[0] == "clarify"  # alone, but below 30
    off = replace(SETTINGS, suggest_band=0)
    assert _outcome(("invoice_copy", 28.0), settings=off)[0] == "not_understood"
    assert _outcome(("invoice_copy", 31.0), ("invoice_wrong", 15.5))[0] == "invoice_copy"  # exactly half


def test_the_lead_rule_is_off_by_default() -> None:
    default = Settings(languages=("de",), min_score=55, suggest_band=0)
    assert _outcome(("invoice_copy", 50.0), settings=default)[0] == "not_understood"
    assert MatchResult((Candidate("a", 50.0, "x", "de"),)).lead == 50.0
    assert MatchResult(()).lead == 0.0


def test_out_of_scope_is_never_answered_nor_offered() -> None:
    outcome, actions = _outcome(("device_insurance", 61.5), out_of_scope="nearest to 'oos_other_products'")
    assert outcome == "not_understood" and actions == (SendMessage("not_understood", ("human",)),)
    outcome, _ = _outcome(("device_insurance", 95.0), ("invoice_copy", 20.0), out_of_scope="look-alike")
    assert outcome == "not_understood"


def test_a_near_miss_needs_the_floor_whatever_the_band() -> None:
    # min_score 55 and band 50 would offer anything from 5 on; suggest_min_score keeps noise out.
    wide = replace(SETTINGS, suggest_band=50, suggest_min_score=15)
    outcome, actions = _outcome(("invoice_copy", 14.0), ("invoice_wrong", 13.0), settings=wide)
    assert outcome == "not_understood" and actions == (SendMessage("not_understood", ("human",)),)
    outcome, actions = _outcome(("invoice_copy", 16.0), ("invoice_wrong", 13.0), settings=wide)
    assert outcome == "clarify" and actions == (Clarify(("invoice_copy",)),)
    assert wide.suggest_from(55) == 15 and SETTINGS.suggest_from(55) == 20
