"""``intents test`` measurements: editors' cases through the real Brain, and examples judged without themselves."""

from __future__ import annotations

from bot.content.evaluate import Held, TestReport, format_report, leave_one_out, run_cases, run_tests
from bot.content.loader import load_folder
from tests.content.conftest import DEFAULTS, MakeFolder

LOO_FOLDER = """
intents:
  - id: router_restart
    title: {de: Router, en: Router}
    examples:
      de: [Router neu starten, Router neu starten bitte, den Router neu starten, Router bitte neu starten]
      en: [restart my router, restart the router, please restart my router, restart router]
    answers: {de: [Stecker ziehen.], en: [Unplug it.]}
  - id: lonely
    title: {de: Einsam, en: Lonely}
    examples:
      de: [Quittungsblock Zebrastreifen]
      en: [zebra receipt pad]
    answers: {de: [Hallo.], en: [Hello.]}
"""


def test_cases_run_through_the_real_bot_and_keep_their_source(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "more_tests.yaml": "tests:\n  - {text: Kündigungsfrist, language: de, expect: not_understood}\n"
        }
    )
    content = load_folder(folder, defaults=DEFAULTS).content
    results = run_cases(content)
    assert [r.passed for r in results] == [False, True, True, True, True]
    failed = results[0]
    assert failed.outcome == "cancellation" and failed.top[0][0] == "cancellation"
    assert (
        failed.source is not None
        and failed.source.path.endswith("more_tests.yaml")
        and failed.source.line == 2
    )


def test_leave_one_out_judges_each_example_without_itself(make_folder: MakeFolder) -> None:
    content = load_folder(make_folder(files={"intents/zz.yaml": LOO_FOLDER}), defaults=DEFAULTS).content
    held = {(h.intent, h.example): h for h in leave_one_out(content)}
    assert len(held) == sum(len(t) for i in content.intents for t in i.examples.values())
    assert held[("router_restart", "Router neu starten")].passed  # its siblings still carry it
    assert held[("router_restart", "restart my router")].passed
    lonely = held[("lonely", "Quittungsblock Zebrastreifen")]
    assert not lonely.passed and lonely.outcome != "lonely"  # with itself it would score 100


def test_report_statistics() -> None:
    report = TestReport(
        held_out=[
            Held("a", "de", "a1", "a"),
            Held("a", "de", "a2", "b", ("b", 80.0)),
            Held("a", "en", "a3", "b"),
            Held("a", "en", "a4", "not_understood", ("a", 60.0)),
            Held("b", "de", "b1", "b"),
            Held("c", "de", "c1", "clarify"),
        ]
    )
    scores = {s.intent: s for s in report.per_intent()}
    assert (scores["a"].recall, scores["a"].precision) == (0.25, 1.0)
    assert (scores["b"].found, scores["b"].answered, scores["b"].precision) == (1, 3, 1 / 3)
    assert scores["c"].recall == 0.0 and scores["c"].answered == 0
    (confusion,) = report.confusions()
    assert (confusion.intent, confusion.answered_as, confusion.count, confusion.example) == (
        "a",
        "b",
        2,
        "a2",
    )
    assert report.other_outcomes() == {"not_understood": 1, "clarify": 1}
    text = "\n".join(format_report(report, top=2))
    assert "leave-one-out: 2/6 examples (33.3%)" in text
    assert "ranked first by the matcher (whatever the thresholds): 3/6 (50.0%)" in text
    assert "a -> b: 2x, e.g. 'a2' (de)" in text


def test_run_tests_without_leave_one_out(make_folder: MakeFolder) -> None:
    content = load_folder(make_folder(), defaults=DEFAULTS).content
    report = run_tests(content, held_out=False)
    assert report.held_out == [] and len(report.cases) == 4 and not report.failed_cases
    assert format_report(report)[-1].startswith("test cases: 4/4 passed")


def test_leave_one_out_recommends_decision_settings(make_folder: MakeFolder) -> None:
    content = load_folder(make_folder(files={"intents/zz.yaml": LOO_FOLDER}), defaults=DEFAULTS).content
    report = run_tests(content)
    advice = report.recommendation
    assert advice is not None and 0.0 <= advice.right_low <= advice.right <= 1.0
    text = "\n".join(format_report(report))
    assert "recommended settings" in text and f"min_score: {advice.min_score:g}" in text
    assert report.as_dict()["recommendation"] is not None
