"""The conversation benchmark is a test too: every scripted turn must be handled as expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.conversations import DATA, evaluate, load, main

ROOT = Path(__file__).resolve().parents[2]


def test_every_scripted_turn_is_handled_as_expected() -> None:
    result = evaluate()
    failures = [
        f"{t.conversation} #{t.index} {t.text!r}: expected {t.expected}, got {t.got} ({t.explanation})"
        for t in result.failures()
    ]
    assert failures == []
    assert len(result.turns) >= 120


def test_the_script_covers_both_languages_and_every_outcome() -> None:
    conversations = load()
    assert len(conversations) >= 60
    assert {c.language for c in conversations} == {"de", "en"}
    outcomes = {o for c in conversations for s in c.steps for o in s.expect}
    for outcome in (
        "clarify",
        "declined",
        "withdrawn",
        "escalate",
        "forward",
        "help",
        "acknowledged",
        "rephrase",
        "not_understood",
    ):
        assert outcome in outcomes
    assert any(len(s.answers) >= 2 for c in conversations for s in c.steps)


def test_a_wrong_expectation_is_reported_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "one.yaml"
    script.write_text(
        "conversations:\n"
        "  - name: wrong\n    language: de\n    turns:\n"
        "      - {say: 'Rechnung herunterladen', expect: cancellation}\n",
        encoding="utf-8",
    )
    assert main(["--data", str(script)]) == 1
    out = capsys.readouterr().out
    assert "MISS wrong #1" in out and "got invoice_copy" in out
    assert '"share": 0.0' in out.splitlines()[-1]


def test_a_malformed_step_names_its_place(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(
        "conversations:\n  - name: bad\n    turns:\n      - {say: hi, press: human, expect: escalate}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="bad, turn 1: exactly one of say, press, staff"):
        load(script)
    assert DATA.exists()
