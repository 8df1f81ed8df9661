"""Smoke tests of the benchmark scripts on tiny JSONL files: they run, go through the product loader, and end
with one JSON line carrying the documented keys. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import intent_accuracy, matcher_speed

TRAIN = {
    "invoice": [
        "where is my invoice",
        "download my bill",
        "copy of my invoice",
        "send me the bill",
        "invoice pdf",
    ],
    "cancel": [
        "cancel my contract",
        "i want to cancel",
        "terminate my subscription",
        "end my plan",
        "quit contract",
    ],
    "internet": [
        "my internet is down",
        "no internet",
        "wifi not working",
        "connection broken",
        "router offline",
    ],
    "weather/find": [
        "is it raining",
        "weather today",
        "will it be sunny",
        "forecast please",
        "how hot is it",
    ],
}
EVAL = [
    ("where can i find my invoice", "invoice"),
    ("cancel the contract", "cancel"),
    ("internet not working", "internet"),
    ("weather tomorrow", "weather/find"),
    ("tell me a joke about cats", "oos"),
    ("who won the football game", "oos"),
]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "label": lab, "extra": 1}) + "\n" for t, lab in rows), "utf-8"
    )
    return path


def _last_json(output: str) -> dict[str, object]:
    last = output.strip().splitlines()[-1]
    parsed = json.loads(last)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = [(t, label) for label, texts in TRAIN.items() for t in texts] + [("sing me a song", "oos")]
    return _write(tmp_path / "train.jsonl", train), _write(tmp_path / "eval.jsonl", EVAL)


def test_intent_accuracy_ends_with_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, evaluation = files
    assert (
        intent_accuracy.main(
            [
                "--train",
                str(train),
                "--eval",
                str(evaluation),
                "--calibrate",
                str(evaluation),
                "--baseline-rows",
                "3",
            ]
        )
        == 0
    )
    summary = _last_json(capsys.readouterr().out)
    for key in (
        "n",
        "top1_accuracy",
        "in_scope_accuracy",
        "oos_recall",
        "threshold",
        "p50_ms",
        "p99_ms",
        "load_s",
    ):
        assert key in summary
    assert summary["n"] == len(EVAL)
    assert summary["intents"] == len(TRAIN)  # oos never becomes an intent
    assert summary["language"] == "en"
    baseline = summary["naive_baseline"]
    assert isinstance(baseline, dict) and baseline["WRatio"]["rows"] == 3


def test_intent_accuracy_shots_and_default_calibration(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, evaluation = files
    intent_accuracy.main(["--train", str(train), "--eval", str(evaluation), "--shots", "2", "--seed", "1"])
    output = capsys.readouterr().out
    assert "seeded 10% carve" in output
    summary = _last_json(output)
    assert summary["examples"] == 2 * len(TRAIN)


def test_intent_accuracy_holdout_with_parallel_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(t, label) for label, texts in TRAIN.items() for t in texts]
    train = _write(tmp_path / "train.jsonl", rows)
    upper = _write(tmp_path / "upper.jsonl", [(t.upper(), label) for t, label in rows])
    intent_accuracy.main(
        ["--train", str(train), "--holdout", "0.4", "--parallel", str(upper), "--language", "en"]
    )
    summary = _last_json(capsys.readouterr().out)
    parallel = summary["parallel"]
    assert isinstance(parallel, dict)
    assert parallel[str(upper)]["top1_drop"] == 0  # casing never matters


def test_matcher_speed_ends_with_json(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, evaluation = files
    plot = tmp_path / "latency.png"
    args = ["--sizes", "10", "40", "--queries", "6", "--baseline-queries", "3", "--pool", str(train)]
    assert matcher_speed.main([*args, "--query-file", str(evaluation), "--plot", str(plot)]) == 0
    summary = _last_json(capsys.readouterr().out)
    sizes = summary["sizes"]
    assert isinstance(sizes, dict) and set(sizes) == {"10", "40"}
    for key in (
        "p50_ms",
        "p99_ms",
        "baseline_p50_ms",
        "baseline_p99_ms",
        "speedup_p50",
        "peak_mb",
        "build_s",
    ):
        assert key in sizes["40"]
    assert sizes["40"]["examples"] == 40  # augmented beyond the 21 real rows
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_augmentation_is_deterministic() -> None:
    pool = [matcher_speed.Row(t, label) for label, texts in TRAIN.items() for t in texts]
    first = matcher_speed.synthetic_rows(60, 3, pool)
    assert first == matcher_speed.synthetic_rows(60, 3, pool)
    assert len({(r.text, r.label) for r in first}) == 60
