"""The tone benchmark's arithmetic and its contract: threshold from calibration only, JSON last line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.tone_accuracy import best_threshold, confusion, is_heldout, main, prf

ROOT = Path(__file__).resolve().parents[2]

ANGRY = [
    "Ihr seid Betrüger!!!",
    "Das ist eine Frechheit, ich gehe zum Anwalt",
    "So eine Abzocke, ich kündige sofort",
    "SEIT WOCHEN KEIN INTERNET!!!",
]
CALM = [
    "Wo finde ich meine Rechnung?",
    "Wie ändere ich meine Adresse?",
    "Danke für die Hilfe",
    "Guten Morgen",
]


@pytest.fixture()
def intents(tmp_path: Path) -> str:
    """Only the shipped tone lists, loaded through the product loader: other editors' files cannot interfere."""
    folder = tmp_path / "intents"
    folder.mkdir()
    shutil.copy(ROOT / "intents" / "tone.yaml", folder / "tone.yaml")
    return str(folder)


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows), "utf-8")
    return path


def test_precision_recall_f1() -> None:
    assert confusion([True, True, False, False], [True, False, True, False]) == (1, 1, 1)
    assert prf(1, 1, 1) == (0.5, 0.5, 0.5)
    assert prf(0, 0, 5) == (0.0, 0.0, 0.0)


def test_best_threshold_never_flags_everything() -> None:
    """Zero is not a candidate: 'flag every message' is not a tone analyser."""
    assert best_threshold([0.0, 0.0, 40.0, 70.0], [True, True, True, True]) == 40.0
    assert best_threshold([10.0, 50.0, 60.0], [False, True, True]) == 50.0


def test_heldout_split_is_stable() -> None:
    texts = [f"text {i}" for i in range(2000)]
    share = sum(map(is_heldout, texts)) / len(texts)
    assert 0.25 < share < 0.35
    assert [is_heldout(t) for t in texts] == [is_heldout(t) for t in texts]


def test_main_reports_json_last(tmp_path: Path, intents: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(t, "angry") for t in ANGRY] + [(t, "calm") for t in CALM]
    eval_file = write_rows(tmp_path / "eval.jsonl", rows)
    calibrate = write_rows(tmp_path / "cal.jsonl", rows)
    neutral = write_rows(tmp_path / "neutral.jsonl", [(t, "x") for t in CALM] + [("Frechheit!!!", "oos")])
    argv = ["--eval", str(eval_file), "--positive", "angry", "--language", "de", "--intents", intents]
    assert main([*argv, "--calibrate", str(calibrate), "--neutral", str(neutral)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"n", "precision", "recall", "f1", "threshold", "false_alarm_rate"}
    assert result["n"] == 8
    assert result["f1"] == 1.0
    assert result["false_alarm_rate"] == 0.0  # the 'oos' row is not part of the calm traffic


def test_main_without_calibration_carves_the_eval_file(
    tmp_path: Path, intents: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(t, "angry") for t in ANGRY * 5] + [(t, "calm") for t in CALM * 5]
    eval_file = write_rows(tmp_path / "eval.jsonl", rows)
    assert (
        main(["--eval", str(eval_file), "--positive", "angry", "--language", "de", "--intents", intents]) == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert any("seeded 30% carve" in line for line in out)
    assert any("product loader" in line for line in out)
    assert json.loads(out[-1])["n"] == 28


def test_main_fixed_threshold(tmp_path: Path, intents: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(t, "angry") for t in ANGRY] + [(t, "calm") for t in CALM]
    eval_file = write_rows(tmp_path / "eval.jsonl", rows)
    argv = ["--eval", str(eval_file), "--positive", "angry", "--language", "de", "--intents", intents]
    assert main([*argv, "--threshold", "60"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["threshold"] == 60


def test_heldout_keeps_only_rows_the_model_never_saw(
    tmp_path: Path, intents: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        (f"{t} {i}", lab) for i in range(40) for t, lab in (("Frechheit!!!", "angry"), ("Guten Tag", "calm"))
    ]
    eval_file = write_rows(tmp_path / "eval.jsonl", rows)
    argv = ["--eval", str(eval_file), "--positive", "angry", "--language", "de", "--intents", intents]
    assert main([*argv, "--heldout", "--calibrate", str(eval_file)]) == 0
    expected = sum(1 for text, _ in rows if is_heldout(text))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n"] == expected


def test_no_lexicon_measures_english_without_the_word_lexicon(
    tmp_path: Path, intents: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The words "dismal" and "grim" are in no editor list: only the VADER word lexicon scores them."""
    rows = [("a dismal and grim experience", "angry"), ("where is my invoice", "calm")]
    eval_file = write_rows(tmp_path / "eval.jsonl", rows)
    argv = [
        "--eval",
        str(eval_file),
        "--positive",
        "angry",
        "--intents",
        intents,
        "--calibrate",
        str(eval_file),
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["f1"] == 1.0
    assert main([*argv, "--no-lexicon"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["f1"] == 0.0
