"""The fitting script reproduces what it wrote, bit for bit, and says when a refit differs from a shipped file.

The full refit of the shipped model takes about 25 s (``python -m benchmarks.fit_tone_model --check`` compares
it with ``bot/core/tone_model.json`` byte for byte); here a small carve of the same data (the first 300 rows of
every file) is refitted and compared with the digest it had when the shipped model was fitted, so a change to
the fitting code, its settings or its numerics shows up in the test run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from benchmarks.fit_tone_model import check, main

ROOT = Path(__file__).resolve().parents[2]
CARVE_DIGESTS = {
    "tone_model.json": "5aa647c00770bfe843173f555a2670ec6e84ba1a7ecc935b1a1ce09e6019f51b",
    "tone_vocab.json": "e086c54cdd77d0226b8d69e6c8764ec13476d4cd243d1220ed3c5eff7d55d924",
}
"""sha256 of ``fit_tone_model --sample 300`` with an intents folder holding only ``tone.yaml``; update together
with the shipped model (and say why in the commit)."""


def datasets() -> Path:
    """The shared datasets beside the repository (as in CI), or ``CAREBOT_DATASETS``."""
    return Path(os.environ.get("CAREBOT_DATASETS", ROOT.parent / "shared" / "datasets"))


@pytest.mark.skipif(not (datasets() / "goemotions").is_dir(), reason="shared datasets not available")
def test_refit_on_a_small_carve_is_bit_for_bit_the_recorded_one(tmp_path: Path) -> None:
    intents = tmp_path / "intents"
    intents.mkdir()
    shutil.copy(ROOT / "intents" / "tone.yaml", intents / "tone.yaml")
    out = tmp_path / "out"
    out.mkdir()
    argv = ["--datasets", str(datasets()), "--intents", str(intents), "--out", str(out), "--sample", "300"]
    assert main(argv) == 0
    digests = {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in CARVE_DIGESTS}
    assert digests == CARVE_DIGESTS


def test_check_reports_a_refit_that_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refit, shipped = tmp_path / "refit", tmp_path / "shipped"
    for folder in (refit, shipped):
        folder.mkdir()
        (folder / "tone_vocab.json").write_text("{}\n", "utf-8")
    (refit / "tone_model.json").write_text('{"de": 1}\n', "utf-8")
    (shipped / "tone_model.json").write_text('{"de": 1}\n', "utf-8")
    assert check(refit, shipped) == 0
    (shipped / "tone_model.json").write_text('{"de": 2}\n', "utf-8")
    assert check(refit, shipped) == 1
    assert "tone_model.json: DIFFERS" in capsys.readouterr().out


@pytest.mark.skipif(not (datasets() / "germeval2018").is_dir(), reason="shared datasets not available")
def test_shipped_german_model_is_a_refit_of_the_shared_data() -> None:
    """The German half of the shipped file, refitted in full (a few seconds): weights, bias and offset equal."""
    from benchmarks.fit_tone_model import GERMAN, OWN_EXAMPLES, calibrated, german_data
    from bot.core.tone_model import load_default_model

    shipped = load_default_model()
    assert shipped is not None
    texts, labels, boost, calm = german_data(datasets(), OWN_EXAMPLES)
    assert calibrated(texts, labels, boost, calm, GERMAN) == shipped.languages["de"]


@pytest.mark.skipif(not (datasets() / "goemotions").is_dir(), reason="shared datasets not available")
def test_negative_tone_rows_are_goemotions_negative_group() -> None:
    """The negative-tone line's label is GoEmotions' negative group, row by row with the English fit's rows:
    every anger row is negative, and sadness or disappointment without anger is negative too."""
    from benchmarks.fit_tone_model import english_data, negative_labels, read_rows

    negative = negative_labels(datasets())
    rows = read_rows(datasets() / "goemotions" / "train.jsonl")
    assert len(negative) == len(rows) == 43410
    assert sum(negative) == 9839
    assert all(n == 1 for n, r in zip(negative, rows, strict=True) if r.label == "anger")
    assert any(n == 1 and r.label == "sadness" for n, r in zip(negative, rows, strict=True))
    texts, _labels, _boost, _calm = english_data(
        datasets(), ROOT / "benchmarks" / "data" / "tone_own_examples.json"
    )
    assert texts[: len(rows)] == [r.text for r in rows]
