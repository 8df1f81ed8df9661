"""Smoke tests of the realistic first-turn benchmark and the load-time script: they run through the product
(loader, Brain, policy) and end with one JSON line. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import load_time, realistic

ROWS = [
    {"text": "wo finde ich meine rechnug", "lang": "de", "label": "invoice_copy", "style": "typo"},
    {"text": "i want to cancel my contract", "lang": "en", "label": "cancellation", "style": "short"},
    {"text": "wie wird das wetter morgen in köln", "lang": "de", "label": "oos", "style": "lookalike"},
    {"text": "ich will sofort einen menschen sprechen", "lang": "de", "label": "human", "style": "human"},
]


def test_realistic_prints_the_issue_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS), encoding="utf-8")
    assert realistic.main(["--data", str(data), "--only", "meaning", "--tune", "--errors"]) == 0
    out = capsys.readouterr().out
    assert "in-scope answered with the right intent" in out and "out-of-scope answered anyway" in out
    summary = json.loads(out.strip().splitlines()[-1])
    column = summary["columns"]["with the meaning model"]
    assert column["in_scope"] == 2 and column["oos"] == 1 and column["human"] == 1
    assert column["oos_answered"] == 0


def test_realistic_rejects_unknown_settings(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        realistic.main(["--set", "no_such_setting=1"])


def test_load_time_child_measures_a_load_and_a_reload(capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(__file__).resolve().parents[2] / "intents"
    assert load_time.main(["--child", str(folder), "--touch", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["examples"] > 1000 and result["reload_s"] >= 0
