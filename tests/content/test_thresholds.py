"""Recommended decision settings: the bootstrap choice, and its agreement with the real policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.content.thresholds import Labelled, _columns, answered, recommend
from bot.core.model import Candidate, MatchResult
from bot.core.policy import ConversationState, Situation, Turn, decide

SHIPPED = Path(__file__).resolve().parents[2] / "intents"


def _match(best: float, runner: float, intent: str = "a", out_of_scope: str = "") -> MatchResult:
    return MatchResult(
        (Candidate(intent, best, "x", "de"), Candidate("z" if intent != "z" else "y", runner, "x", "de")),
        "de",
        out_of_scope=out_of_scope,
    )


def test_clear_but_modest_winners_make_the_lead_rule_worth_it() -> None:
    rows = [Labelled(_match(40 + i % 10, 10), "a") for i in range(60)]  # modest, far ahead, right
    rows += [Labelled(_match(45, 40, "z"), "a") for _ in range(20)]  # modest, not clear, wrong
    rows += [Labelled(_match(30, 25, "a"), "oos") for _ in range(20)]  # out of scope, low
    found = recommend(rows)
    assert found is not None
    assert found.lead_ratio >= 0.3 and found.lead_min_score <= 40
    assert found.right == 0.75 and found.wrong == 0.0 and found.oos_answered == 0.0


def test_out_of_scope_answers_above_the_limit_rule_a_setting_out() -> None:
    rows = [Labelled(_match(70, 20), "a") for _ in range(50)]
    rows += [Labelled(_match(62, 20), "oos") for _ in range(10)]  # look-alikes between 55 and 70
    found = recommend(rows)
    assert found is not None and found.min_score > 62
    assert found.oos_answered == 0.0


def test_nothing_to_recommend_without_in_scope_messages() -> None:
    assert recommend([Labelled(_match(30, 20), "oos")]) is None


def test_the_vectorised_rule_agrees_with_the_policy_on_the_shipped_test_cases() -> None:
    content = load_folder(SHIPPED).content
    brain = Brain.build(content)
    settings = replace(content.settings, min_score=55, ambiguity_margin=10, lead_ratio=0.5, lead_min_score=30)
    texts = [case.text for case in content.tests]
    matches = [brain.analyze(text).match for text in texts]
    score, runner, blocked, _, _ = _columns([Labelled(m, "oos") for m in matches])
    predicted = answered(score, runner, blocked, 55, 10, 0.5, 30)
    now = datetime.now(UTC)
    for text, match, yes in zip(texts, matches, predicted.tolist(), strict=True):
        analysis = brain.analyze(text)
        if analysis.tone.anger >= settings.anger_threshold or analysis.tone.wants_human:
            continue  # tone decides before the matcher
        turn = Turn(now=now, text=text, analysis=analysis)
        decision = decide(ConversationState(), turn, Situation(), settings, brain.intents)
        assert (decision.outcome == (match.best.intent_id if match.best else None)) == yes, text
    assert np.asarray(predicted).any()
