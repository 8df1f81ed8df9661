"""``intents test``: how well the folder works, measured with the real bot.

Two measurements:

* the editors' ``tests:`` cases, each run as the first message of a fresh conversation through
  :meth:`bot.content.brain.Brain.first_turn_outcome` (matcher, tone and dialogue policy together), so a case
  passes exactly when the live bot would do what the editor expects;
* a leave-one-out run over every example: would the bot still answer an example with its own intent if the
  example were not in the folder? That is the closest an editor gets to "how does it cope with phrasings
  nobody wrote down". From it come per-intent recall and precision and the most confused pairs.

True leave-one-out rebuilds the index once per example (1,600 builds for the shipped folder: minutes). This
runs one round per example position instead: round ``j`` leaves out the ``j``-th example of every intent and
language at once, so each example is still judged without itself, for the price of ~25 builds. Competing
intents also miss one example in that round; with 20+ examples per intent that changes little.

This is the one content module that uses the service layer: the point is to measure the bot as it runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field

from bot.content.brain import Brain
from bot.content.thresholds import OOS, Labelled, Recommendation, recommend
from bot.core.matcher import DEFAULT_CONFIG
from bot.core.model import Content, Intent, Lang, MatchResult, SourceRef
from bot.core.policy import OUTCOMES

OTHER_OUTCOMES = OUTCOMES
"""Outcomes that are not an intent (``clarify``, ``not_understood``, ``escalate``, ``help``, ``acknowledged``
…): a held-out example that ends there was missed, not confused with another intent."""
OUT_OF_SCOPE_TAG = DEFAULT_CONFIG.out_of_scope_tag


@dataclass(frozen=True, slots=True)
class CaseResult:
    text: str
    language: Lang | None
    expect: str
    outcome: str
    top: tuple[tuple[str, float], ...] = ()
    """The matcher's best candidates (intent, score): the evidence for a failure."""
    source: SourceRef | None = None
    match: MatchResult | None = field(default=None, compare=False, repr=False)
    """The matcher's whole result, for the recommended settings."""

    @property
    def passed(self) -> bool:
        return self.outcome == self.expect


@dataclass(frozen=True, slots=True)
class Held:
    """One example judged without itself."""

    intent: str
    language: Lang
    example: str
    outcome: str
    best: tuple[str, float] | None = None
    """For a miss: the matcher's best candidate, to tell "ranked right but not sure enough" (a threshold
    matter) from "ranked wrong" (an examples matter)."""
    match: MatchResult | None = field(default=None, compare=False, repr=False)
    """The matcher's whole result, for the recommended settings."""
    expect: str = ""
    """What the example should get: its intent, or ``oos`` for an example of an out-of-scope intent."""

    @property
    def passed(self) -> bool:
        """Answered with its own intent; for an example of an out-of-scope intent: not answered."""
        if self.expect == OOS:
            return self.outcome in ("not_understood", "clarify")
        return self.outcome == self.intent

    @property
    def ranked_first(self) -> bool:
        return self.passed or (self.best is not None and self.best[0] == self.intent)


@dataclass(frozen=True, slots=True)
class IntentScore:
    intent: str
    examples: int
    found: int
    """Own examples answered with this intent."""
    answered: int
    """Held-out examples of any intent answered with this one."""

    @property
    def recall(self) -> float:
        return self.found / self.examples if self.examples else 0.0

    @property
    def precision(self) -> float:
        return self.found / self.answered if self.answered else 1.0


@dataclass(frozen=True, slots=True)
class Confusion:
    intent: str
    answered_as: str
    count: int
    example: str
    language: Lang


@dataclass(slots=True)
class TestReport:
    __test__ = False  # not a pytest class

    cases: list[CaseResult] = field(default_factory=list)
    held_out: list[Held] = field(default_factory=list)
    seconds_cases: float = 0.0
    seconds_held_out: float = 0.0
    matcher: str = ""
    """Which evidence the matcher used (``IntentIndex.description``)."""
    recommendation: Recommendation | None = None
    """Decision settings recommended from the held-out examples and the test cases (``bot.content.thresholds``)."""

    @property
    def failed_cases(self) -> list[CaseResult]:
        return [case for case in self.cases if not case.passed]

    def per_intent(self) -> list[IntentScore]:
        examples: Counter[str] = Counter(h.intent for h in self.held_out)
        found: Counter[str] = Counter(h.intent for h in self.held_out if h.passed)
        answered: Counter[str] = Counter(h.outcome for h in self.held_out)
        return [IntentScore(name, examples[name], found[name], answered[name]) for name in examples]

    def confusions(self) -> list[Confusion]:
        """Pairs (example's intent, intent that answered it instead), most frequent first."""
        pairs: Counter[tuple[str, str]] = Counter()
        first: dict[tuple[str, str], Held] = {}
        for held in self.held_out:
            if held.passed or held.outcome in OTHER_OUTCOMES:
                continue
            key = (held.intent, held.outcome)
            pairs[key] += 1
            first.setdefault(key, held)
        return [
            Confusion(a, b, count, first[(a, b)].example, first[(a, b)].language)
            for (a, b), count in pairs.most_common()
        ]

    def other_outcomes(self) -> Counter[str]:
        return Counter(h.outcome for h in self.held_out if not h.passed and h.outcome in OTHER_OUTCOMES)

    def as_dict(self) -> dict[str, object]:
        return {
            "cases": {
                "total": len(self.cases),
                "passed": len(self.cases) - len(self.failed_cases),
                "failed": [
                    {
                        **_fields(case, "match"),
                        "source": str(case.source) if case.source else None,
                    }
                    for case in self.failed_cases
                ],
            },
            "leave_one_out": {
                "total": len(self.held_out),
                "passed": sum(1 for h in self.held_out if h.passed),
                "ranked_first": sum(1 for h in self.held_out if h.ranked_first),
                "per_intent": [
                    {
                        **dataclasses.asdict(s),
                        "recall": round(s.recall, 3),
                        "precision": round(s.precision, 3),
                    }
                    for s in self.per_intent()
                ],
                "confusions": [dataclasses.asdict(c) for c in self.confusions()],
                "other_outcomes": dict(self.other_outcomes()),
                "misses": [_fields(h, "match", "expect") for h in self.held_out if not h.passed],
            },
            "recommendation": dataclasses.asdict(self.recommendation) if self.recommendation else None,
            "matcher": self.matcher,
            "seconds": {
                "cases": round(self.seconds_cases, 2),
                "leave_one_out": round(self.seconds_held_out, 2),
            },
        }


def _fields(item: CaseResult | Held, *leave_out: str) -> dict[str, object]:
    """A result as plain JSON-able fields, without the bulky ones."""
    return {name: value for name, value in dataclasses.asdict(item).items() if name not in leave_out}


def run_cases(content: Content, brain: Brain | None = None) -> list[CaseResult]:
    brain = brain or Brain.build(content)
    results: list[CaseResult] = []
    for case in content.tests:
        analysis, decision = brain.first_turn(case.text, case.language)
        outcome = decision.outcome
        top: tuple[tuple[str, float], ...] = ()
        if outcome != case.expect:
            top = tuple((c.intent_id, c.score) for c in analysis.match.candidates[:3])
        results.append(
            CaseResult(case.text, case.language, case.expect, outcome, top, case.source, analysis.match)
        )
    return results


def _without(intent: Intent, position: int) -> Intent:
    examples = {lang: texts[:position] + texts[position + 1 :] for lang, texts in intent.examples.items()}
    return dataclasses.replace(intent, examples=examples)


def leave_one_out(content: Content) -> list[Held]:
    """Every enabled intent's examples, each judged by a bot built without it (see the module doc)."""
    enabled = [intent for intent in content.intents if intent.enabled]
    rounds = max((len(texts) for intent in enabled for texts in intent.examples.values()), default=0)
    held: list[Held] = []
    for position in range(rounds):
        reduced = tuple(
            _without(intent, position) if intent.enabled else intent for intent in content.intents
        )
        brain = Brain.build(dataclasses.replace(content, intents=reduced))
        for intent in enabled:
            for language, texts in intent.examples.items():
                if position < len(texts):
                    text = texts[position]
                    analysis, decision = brain.first_turn(text, language)
                    outcome = decision.outcome
                    best = None
                    if outcome != intent.id:
                        candidate = analysis.match.best
                        best = (candidate.intent_id, candidate.score) if candidate else None
                    expect = OOS if OUT_OF_SCOPE_TAG in intent.tags else intent.id
                    held.append(Held(intent.id, language, text, outcome, best, analysis.match, expect))
    return held


def recommend_settings(report: TestReport) -> Recommendation | None:
    """Decision settings for the folder from its held-out examples and test cases (see
    ``bot.content.thresholds``): examples of out-of-scope intents and cases expecting ``not_understood``
    are the messages that must not be answered; cases expecting ``escalate`` are the tone's business."""
    rows = [Labelled(h.match, h.expect) for h in report.held_out if h.match is not None and h.expect]
    for case in report.cases:
        if case.match is not None and case.expect != "escalate":
            rows.append(Labelled(case.match, OOS if case.expect == "not_understood" else case.expect))
    return recommend(rows)


def run_tests(content: Content, *, held_out: bool = True) -> TestReport:
    report = TestReport()
    started = time.perf_counter()
    brain = Brain.build(content)
    report.matcher = brain.index.description
    report.cases = run_cases(content, brain)
    report.seconds_cases = time.perf_counter() - started
    if held_out:
        started = time.perf_counter()
        report.held_out = leave_one_out(content)
        report.recommendation = recommend_settings(report)
        report.seconds_held_out = time.perf_counter() - started
    return report


def format_report(report: TestReport, top: int = 10) -> list[str]:
    """The text an editor reads: failures first (with the evidence), then where the folder is weakest."""
    lines: list[str] = []
    for case in report.failed_cases:
        where = f"{case.source}: " if case.source else ""
        evidence = ", ".join(f"{intent} {score:g}" for intent, score in case.top) or "no candidate"
        lines.append(
            f"FAIL {where}{case.text!r} [{case.language or 'auto'}]: expected {case.expect}, "
            f"got {case.outcome} (matcher: {evidence})"
        )
    passed = len(report.cases) - len(report.failed_cases)
    matcher = f"; matcher: {report.matcher}" if report.matcher else ""
    lines.append(f"test cases: {passed}/{len(report.cases)} passed ({report.seconds_cases:.1f}s{matcher})")
    if not report.held_out:
        return lines
    total = len(report.held_out)
    found = sum(1 for h in report.held_out if h.passed)
    share = 100.0 * found / total if total else 0.0
    lines.append(
        f"leave-one-out: {found}/{total} examples ({share:.1f}%) still get their own intent without "
        f"themselves ({report.seconds_held_out:.1f}s)"
    )
    ranked = sum(1 for h in report.held_out if h.ranked_first)
    lines.append(
        f"  ranked first by the matcher (whatever the thresholds): {ranked}/{total} "
        f"({100.0 * ranked / total if total else 0.0:.1f}%)"
    )
    others = report.other_outcomes()
    if others:
        lines.append("  instead: " + ", ".join(f"{name} {count}" for name, count in others.most_common()))
    outside = {h.intent for h in report.held_out if h.expect == OOS}
    if outside:
        kept = [h for h in report.held_out if h.intent in outside]
        lines.append(
            f"out-of-scope intents ({', '.join(sorted(outside))}): {sum(h.passed for h in kept)}/{len(kept)} "
            "held-out examples not answered"
        )
    scores = [s for s in report.per_intent() if s.intent not in outside]
    weakest = sorted(scores, key=lambda s: (min(s.recall, s.precision), s.intent))[:top]
    if weakest:
        lines.append("weakest intents (recall: own examples found; precision: its answers that were right):")
        width = max(len(s.intent) for s in weakest)
        for s in weakest:
            precision = f"{100 * s.precision:5.1f}%" if s.answered else "    -  "
            lines.append(
                f"  {s.intent:<{width}}  recall {100 * s.recall:5.1f}% ({s.found}/{s.examples})  "
                f"precision {precision} ({s.found}/{s.answered})"
            )
    confusions = report.confusions()[:top]
    if confusions:
        lines.append("most confused (an example of A answered as B):")
        for c in confusions:
            lines.append(f"  {c.intent} -> {c.answered_as}: {c.count}x, e.g. {c.example!r} ({c.language})")
    advice = report.recommendation
    if advice is not None:
        oos = (
            f", out-of-scope answered {100 * (advice.oos_answered or 0):.1f}% "
            f"(90th percentile {100 * (advice.oos_answered_high or 0):.1f}%)"
            if advice.oos_answered is not None
            else ", no out-of-scope messages to check against (add out_of_scope intents or not_understood cases)"
        )
        lines.append(
            "recommended settings (settings.yaml; bootstrap over the held-out examples and test cases: "
            f"right answers {100 * advice.right:.1f}%, 10th percentile {100 * advice.right_low:.1f}%, "
            f"wrong {100 * advice.wrong:.1f}%{oos}):"
        )
        lines.append(advice.settings_yaml())
    return lines
