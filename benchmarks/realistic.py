"""First-turn outcomes of the shipped folder on realistic customer messages (issue #14's table).

Every message is the first message of a new conversation: language detected as in production, matched,
toned and decided by the product's own policy (``Brain.analyze`` + ``bot.core.policy.decide``). Rows are
``{"text", "label", "lang"?, "style"?}``; ``label`` is an intent id, ``oos`` (must not be answered),
``angry`` or ``human`` (must reach a human). The table, for the lexical matcher and with the meaning model:

* in-scope answered with the right intent; right intent or a "did you mean" offering it; "not understood"
  (or handed over after the miss); rank 1 right ignoring thresholds (the matcher's ranking alone);
* out-of-scope answered anyway (a confident wrong answer);
* angry messages and requests for a person caught (escalated).

``--set name=value`` overrides a setting of the folder (e.g. ``--set lead_ratio=0.5``) for what-if runs;
``--tune`` searches the decision settings on these rows (see ``bot.content.thresholds``) and prints the
recommendation with its bootstrap margin. Run ``python -m benchmarks.realistic --help``; the last printed
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import percentile
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.content.thresholds import Labelled, recommend
from bot.core.model import Analysis, Settings
from bot.core.policy import Clarify, ConversationState, Situation, Turn, decide

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "benchmarks" / "data" / "realistic_dev.jsonl"
HUMAN_LABELS = ("angry", "human")
OOS = "oos"


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    label: str
    language: str | None
    style: str


@dataclass(frozen=True, slots=True)
class Outcome:
    message: Message
    outcome: str
    offered: tuple[str, ...]
    ranked_first: str | None
    analysis: Analysis


def read(path: Path) -> list[Message]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            rows.append(Message(record["text"], record["label"], record.get("lang"), record.get("style", "")))
    return rows


def analyse(brain: Brain, messages: Sequence[Message], timings: list[float] | None = None) -> list[Analysis]:
    """The core's analysis of every message as a first turn (language detected as in production);
    ``timings`` receives each message's CPU milliseconds (the whole ``Brain.analyze``: language, the
    message and its questions matched, tone)."""
    analyses = []
    for m in messages:
        started = time.thread_time()
        analyses.append(brain.analyze(m.text))
        if timings is not None:
            timings.append(1000.0 * (time.thread_time() - started))
    return analyses


def outcomes(
    brain: Brain, messages: Sequence[Message], analyses: Sequence[Analysis], settings: Settings
) -> list[Outcome]:
    """What the policy does with each analysed message under ``settings``."""
    now = datetime.now(UTC)
    result = []
    for message, analysis in zip(messages, analyses, strict=True):
        decision = decide(
            ConversationState(language=analysis.language),
            Turn(now=now, text=message.text, analysis=analysis),
            Situation(),
            settings,
            brain.intents,
        )
        offered = tuple(i for a in decision.actions if isinstance(a, Clarify) for i in a.intent_ids)
        best = analysis.match.best
        result.append(Outcome(message, decision.outcome, offered, best.intent_id if best else None, analysis))
    return result


def table(results: Sequence[Outcome]) -> dict[str, float | int]:
    in_scope = [o for o in results if o.message.label not in (OOS, *HUMAN_LABELS)]
    oos = [o for o in results if o.message.label == OOS]
    human = [o for o in results if o.message.label in HUMAN_LABELS]
    right = sum(o.outcome == o.message.label for o in in_scope)
    offered = sum(o.outcome == "clarify" and o.message.label in o.offered for o in in_scope)
    clarified = sum(o.outcome == "clarify" for o in in_scope)
    missed = sum(o.outcome in ("not_understood", "escalate") for o in in_scope)
    wrong = sum(o.outcome not in ("clarify", "not_understood", "escalate", o.message.label) for o in in_scope)
    n = max(1, len(in_scope))
    return {
        "in_scope": len(in_scope),
        "answered_right": right,
        "answered_right_pct": round(100 * right / n, 1),
        "right_or_offered": right + offered,
        "right_or_offered_pct": round(100 * (right + offered) / n, 1),
        "did_you_mean_pct": round(100 * clarified / n, 1),
        "not_understood_pct": round(100 * missed / n, 1),
        "answered_wrong": wrong,
        "answered_wrong_pct": round(100 * wrong / n, 1),
        "rank1_pct": round(100 * sum(o.ranked_first == o.message.label for o in in_scope) / n, 1),
        "oos": len(oos),
        "oos_answered": sum(o.outcome not in ("clarify", "not_understood", "escalate") for o in oos),
        "oos_answered_pct": round(
            100
            * sum(o.outcome not in ("clarify", "not_understood", "escalate") for o in oos)
            / max(1, len(oos)),
            1,
        ),
        "human": len(human),
        "human_caught": sum(o.outcome == "escalate" for o in human),
    }


def print_table(columns: dict[str, dict[str, float | int]]) -> None:
    names = list(columns)
    rows = [
        ("in-scope answered with the right intent", "answered_right_pct", "answered_right", "in_scope"),
        (
            "right intent or a 'did you mean' offering it",
            "right_or_offered_pct",
            "right_or_offered",
            "in_scope",
        ),
        ("in-scope 'did you mean'", "did_you_mean_pct", None, None),
        ("in-scope 'not understood' (or handed over)", "not_understood_pct", None, None),
        ("in-scope answered with a wrong intent", "answered_wrong_pct", "answered_wrong", "in_scope"),
        ("right intent ranked first (thresholds ignored)", "rank1_pct", None, None),
        ("out-of-scope answered anyway", "oos_answered_pct", "oos_answered", "oos"),
    ]
    print(f"{'':<50}" + "".join(f"{name:>22}" for name in names))
    for label, pct, count, total in rows:
        cells = []
        for name in names:
            c = columns[name]
            cell = f"{c[pct]:.1f} %"
            if count:
                cell += f" ({c[count]}/{c[total]})"  # type: ignore[index]
            cells.append(f"{cell:>22}")
        print(f"{label:<50}" + "".join(cells))
    print(
        f"{'angry messages or requests for a person caught':<50}"
        + "".join(f"{str(columns[n]['human_caught']) + '/' + str(columns[n]['human']):>22}" for n in names)
    )


def by_style(results: Sequence[Outcome]) -> dict[str, str]:
    """In-scope messages answered right, per style and per language (``lang:de``)."""
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for o in results:
        if o.message.label in (OOS, *HUMAN_LABELS):
            continue
        for key in (o.message.style, f"lang:{o.message.language}"):
            totals[key] += 1
            right[key] += o.outcome == o.message.label
    return {key: f"{right[key]}/{totals[key]}" for key in sorted(totals)}


def overrides(pairs: Sequence[str]) -> dict[str, float]:
    known = {f.name for f in fields(Settings)}
    values: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known or not value:
            raise SystemExit(f"--set {pair!r}: expected name=value with a setting of {sorted(known)}")
        values[name] = float(value)
    return values


def build(folder: Path, meaning: bool) -> tuple[Brain, float]:
    previous = os.environ.get("CAREBOT_SEMANTIC")
    os.environ["CAREBOT_SEMANTIC"] = "on" if meaning else "off"
    try:
        started = time.perf_counter()
        brain = Brain.build(load_folder(folder).content)
        return brain, time.perf_counter() - started
    finally:
        if previous is None:
            del os.environ["CAREBOT_SEMANTIC"]
        else:
            os.environ["CAREBOT_SEMANTIC"] = previous


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL rows (default: the dev set)")
    parser.add_argument("--intents", type=Path, default=ROOT / "intents", help="intents folder")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    parser.add_argument("--only", choices=("lexical", "meaning"), default=None, help="one matcher only")
    parser.add_argument("--errors", action="store_true", help="list every in-scope miss and oos answer")
    parser.add_argument(
        "--tune",
        action="store_true",
        help="recommend min_score / ambiguity_margin / lead_ratio / lead_min_score on these rows "
        "(bootstrap, bot.content.thresholds) and score the rows with it",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    messages = read(args.data)
    extra = overrides(args.set)
    columns: dict[str, dict[str, float | int]] = {}
    styles: dict[str, dict[str, str]] = {}
    for name in ("lexical", "meaning"):
        if args.only and name != args.only:
            continue
        brain, load_s = build(args.intents, meaning=name == "meaning")
        settings = replace(brain.content.settings, **extra)  # type: ignore[arg-type]
        analyse(brain, messages[:20])  # warm up lazy imports and caches before timing
        timings: list[float] = []
        analyses = analyse(brain, messages, timings)
        if args.tune:
            labelled = [
                Labelled(a.match, m.label)
                for m, a in zip(messages, analyses, strict=True)
                if m.label not in HUMAN_LABELS
            ]
            found = recommend(labelled)
            if found is not None:
                print(
                    f"{name}: recommended (bootstrap, 10th percentile of right answers "
                    f"{100 * found.right_low:.1f} %, on the rows {100 * found.right:.1f} %):"
                )
                print(found.settings_yaml())
                settings = replace(
                    settings,
                    min_score=found.min_score,
                    ambiguity_margin=found.ambiguity_margin,
                    lead_ratio=found.lead_ratio,
                    lead_min_score=found.lead_min_score,
                )
        results = outcomes(brain, messages, analyses, settings)
        column = "lexical" if name == "lexical" else "with the meaning model"
        columns[column] = table(results) | {
            "analysis_p50_ms": round(percentile(timings, 50), 2),
            "analysis_p99_ms": round(percentile(timings, 99), 2),
        }
        styles[column] = by_style(results)
        print(
            f"{column}: {brain.index.description}; loaded in {load_s:.2f} s; analysis per message "
            f"p50 {percentile(timings, 50):.2f} / p99 {percentile(timings, 99):.2f} ms CPU"
        )
        if args.errors:
            for o in results:
                label = o.message.label
                bad = (
                    (label == OOS and o.outcome not in ("clarify", "not_understood", "escalate"))
                    or (label not in (OOS, *HUMAN_LABELS) and o.outcome != label)
                    or (label in HUMAN_LABELS and o.outcome != "escalate")
                )
                if bad:
                    top = ", ".join(f"{c.intent_id} {c.score:.1f}" for c in o.analysis.match.candidates[:3])
                    oos = f" [oos: {o.analysis.match.out_of_scope}]" if o.analysis.match.out_of_scope else ""
                    print(f"  {label:>22} -> {o.outcome:<16} {o.message.text[:90]!r}  ({top}){oos}")
    print(
        f"\n{len(messages)} messages from {args.data}, first turn, settings {extra or 'as in the folder'}\n"
    )
    print_table(columns)
    print("\nin-scope answered right by style and language: " + json.dumps(styles, ensure_ascii=False))
    print(json.dumps({"data": str(args.data), "overrides": extra, "columns": columns, "styles": styles}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
