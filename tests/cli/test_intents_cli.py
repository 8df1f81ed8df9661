"""`python -m bot intents ...` end to end: real folders, the real dispatcher, exit codes and output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "content"
GOOD = FIXTURES / "good"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def copy_good(tmp_path: Path, overlay: str | None = None) -> Path:
    folder = tmp_path / "intents"
    shutil.copytree(GOOD, folder)
    if overlay:
        shutil.copytree(FIXTURES / "broken" / overlay, folder / "extra")
    return folder


def test_check_good_folder_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "intents", "check", str(GOOD))
    assert code == 0, out
    assert "OK" in out.splitlines()[-1]
    assert "4 intents" in out


def test_check_reports_every_problem_and_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = copy_good(tmp_path, "many")
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 1
    lines = out.splitlines()
    assert (
        f"{folder}/extra/a.yaml:5: intents[0] router_reset.min_score: must be at most 100, not 101" in lines
    )
    assert len([line for line in lines if ".yaml:" in line]) == 7
    assert "7 error(s)" in lines[-1]


def test_check_uses_bot_intents_when_no_folder_is_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_INTENTS", str(GOOD))
    code, out = run(capsys, "intents", "check")
    assert code == 0, out


def test_warnings_pass_unless_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = copy_good(tmp_path, "missing_examples")
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 0 and "warning: has no examples in 'en'" in out
    code, out = run(capsys, "intents", "check", "--strict", str(folder))
    assert code == 1 and "--strict" in out


def test_check_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = copy_good(tmp_path, "duplicate_id")
    code, out = run(capsys, "intents", "check", "--format", "json", str(folder))
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["errors"] == 1
    (problem,) = report["problems"]
    assert problem["severity"] == "error" and "defined twice" in problem["what"]
    assert set(problem) == {"path", "line", "where", "what", "severity"}


def test_check_reports_colliding_examples(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "clash.yaml").write_text(
        "intents:\n"
        "  - id: invoice_download\n"
        "    title: {de: Rechnung laden, en: Download invoice}\n"
        "    examples:\n"
        "      de: [Rechnung herunterladen bitte, Rechnung als PDF laden, Rechnung speichern]\n"
        "      en: [download my invoice, save my invoice, invoice as PDF]\n"
        "    answers: {de: [Im Kundencenter.], en: [In the customer centre.]}\n"
        "    min_score: 50\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "intents", "check", "--format", "json", str(folder))
    report = json.loads(out)
    assert code == 0, out  # collisions are warnings: the bot asks "did you mean" where intents are close
    clash = next(c for c in report["collisions"] if c["example"] == "Rechnung herunterladen")
    assert {clash["intent"], clash["other"]} == {"invoice_copy", "invoice_download"}
    assert clash["other_example"] == "Rechnung herunterladen bitte" and clash["score"] >= clash["threshold"]
    code, _ = run(capsys, "intents", "check", "--strict", str(folder))
    assert code == 1


def test_the_same_example_in_two_intents_is_a_loud_warning_that_strict_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_good(tmp_path)
    clash = folder / "more" / "clash.yaml"  # read after intents/billing.yaml
    clash.parent.mkdir()
    clash.write_text(
        "intents:\n"
        "  - id: invoice_download\n"
        "    title: {de: Rechnung laden, en: Download invoice}\n"
        "    examples:\n"
        "      de: [Rechnung als PDF laden, Rechnung speichern, RECHNUNG herunterladen!]\n"
        "      en: [download my invoice, save my invoice, invoice as PDF]\n"
        "    answers: {de: [Im Kundencenter.], en: [In the customer centre.]}\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 0, out  # the spec promises that such a folder loads
    billing = folder / "intents" / "billing.yaml"
    assert (
        f"{clash}:5: intents[0] invoice_download.examples.de[2]: warning: 'RECHNUNG herunterladen!' is also an example "
        f"of invoice_copy ('Rechnung herunterladen') at {billing}:7; one sentence cannot mean two things"
    ) in out
    code, out = run(capsys, "intents", "check", "--strict", str(folder))
    assert code == 1, out


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "intents", "schema")
    assert code == 0
    committed = Path(__file__).resolve().parents[2] / "bot" / "content" / "intents.schema.json"
    assert out == committed.read_text(encoding="utf-8")


def test_test_command_passes_on_the_good_folder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "intents", "test", "--format", "json", str(GOOD))
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True and report["cases"] == {"total": 4, "passed": 4, "failed": []}
    loo = report["leave_one_out"]
    assert loo["total"] == 26 and {s["intent"] for s in loo["per_intent"]} == {
        "invoice_copy",
        "invoice_wrong",
        "cancellation",
        "opening_hours",
    }


def test_test_command_fails_on_a_failing_case(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = copy_good(tmp_path)
    (folder / "tests.yaml").write_text(
        "tests:\n  - {text: 'Kündigungsfrist', language: de, expect: opening_hours}\n", encoding="utf-8"
    )
    code, out = run(capsys, "intents", "test", "--no-loo", str(folder))
    assert code == 1
    assert out.splitlines()[0].startswith(
        f"FAIL {folder}/tests.yaml:2: 'Kündigungsfrist' [de]: expected opening_hours, got cancellation"
    )
    assert out.splitlines()[-1].startswith("test cases: 0/1 passed") and "leave-one-out" not in out


def test_test_command_refuses_a_broken_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "intents", "test", str(copy_good(tmp_path, "bad_id")))
    assert code == 1 and "does not load" in out


def test_export_then_import_into_a_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv_file = tmp_path / "intents.csv"
    code, out = run(capsys, "intents", "export", "--csv", str(csv_file), str(GOOD))
    assert code == 0 and "for 4 intents" in out
    assert csv_file.read_bytes().startswith(
        b"\xef\xbb\xbfintent,field,language,text\r\n"
    )  # RFC 4180 line ends

    target = tmp_path / "new"
    code, out = run(capsys, "intents", "import", "--csv", str(csv_file), "--into", str(target))
    assert code == 0 and "wrote 4 intents and the folder's settings, variables, messages, tone, tests" in out
    assert f"next: python -m bot intents check {target}" in out
    # The suggested next step works as it stands: settings, variables, messages, tone and tests came along.
    code, out = run(capsys, "intents", "check", "--strict", str(target))
    assert code == 0, out
    assert "4 intents" in out and "4 tests" in out

    code, _ = run(capsys, "intents", "import", "--csv", str(csv_file), "--into", str(target))
    assert code == 1  # never overwrites an editor's file
    code, out = run(capsys, "intents", "import", "--csv", str(csv_file))
    assert code == 0 and out.startswith("# Imported from CSV") and "  - id: invoice_copy" in out


def test_check_warns_about_duplicate_examples_and_unused_variables(  # within one intent: a warning
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_good(tmp_path)
    billing = folder / "intents" / "billing.yaml"
    billing.write_text(
        billing.read_text(encoding="utf-8").replace(
            "        - Rechnungskopie bitte\n",
            "        - Rechnungskopie bitte\n        - rechnungskopie, BITTE!\n",
        ),
        encoding="utf-8",
    )
    settings = folder / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("variables:\n", "variables:\n  fax: '0800 1'\n"),
        encoding="utf-8",
    )
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 0, out
    assert (
        f"{billing}:9: invoice_copy.examples.de[3]: warning: 'rechnungskopie, BITTE!' is the same as "
        "example 2 ('Rechnungskopie bitte')"
    ) in out
    assert f"{settings}:10: variables.fax: warning: $fax is not used by any answer or message" in out


def test_check_on_a_file_asks_for_its_folder(capsys: pytest.CaptureFixture[str]) -> None:
    billing = GOOD / "intents" / "billing.yaml"
    code, out = run(capsys, "intents", "check", str(billing))
    assert code == 1
    assert f"{billing}:1: is a file; give the folder that contains it ({billing.parent})" in out
    assert "does not exist" not in out


def test_import_of_a_missing_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexist.csv"
    code = main(["intents", "import", "--csv", str(missing)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == f"{missing}:1: (file): does not exist"


def test_export_to_a_missing_folder_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["intents", "export", "--csv", "/nonexistent/dir/x.csv", str(GOOD)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == (
        "/nonexistent/dir/x.csv: cannot be written: the folder /nonexistent/dir does not exist"
    )


def test_import_reports_every_bad_row(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "intent;field;language;text\na;example;xx;one\nBad Id;example;de;two\na;min_score;;high\n",
        encoding="utf-8",
    )
    code = main(["intents", "import", "--csv", str(csv_file), "--into", str(tmp_path / "new")])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert [line.split(":")[1] for line in err[:3]] == ["2", "3", "4"], err
    assert err[-1] == f"{csv_file}: 3 bad row(s); nothing was written"
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    "action", ["check", "test", "schema", "export", "import", "explain", "suggest", "misses"]
)
def test_every_action_describes_itself_in_help(capsys: pytest.CaptureFixture[str], action: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["intents", action, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert not description.startswith(("positional arguments", "options")), out
    assert len(description) > 30


@pytest.mark.parametrize("spelling", ["--database", "--db"])
def test_misses_accepts_both_database_spellings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spelling: str
) -> None:
    code = main(["intents", "misses", spelling, str(tmp_path / "none.db"), str(GOOD)])
    assert code == 1
    assert f"no database at {tmp_path / 'none.db'}" in capsys.readouterr().err


def test_explain_shows_scores_and_what_the_first_turn_does(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "intents", "explain", "wo finde ich meine rechnug", str(GOOD))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "message 'wo finde ich meine rechnug' -> normalised 'wo finde ich meine rechnug' [de]"
    assert lines[1] == "  spelling repaired to the examples' words: 'rechnug' -> 'rechnung'"
    assert re.match(r"  1\. invoice_copy: \d+\.\d( |$)", lines[2]), lines[2]
    assert "language: de (detected)" in lines
    assert "first message of a conversation: invoice_copy: answers with this intent" in lines
    [decision] = [line for line in lines if line.startswith("decision: ")]
    assert re.fullmatch(
        r"decision: invoice_copy; why: \d+\.\d against 'Wo finde ich meine Rechnung\?'", decision
    )


def test_explain_with_language_after_the_text_and_folder_last(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        capsys, "intents", "explain", "Ihr seid Betrüger, eine Frechheit!!!", "--language", "de", str(GOOD)
    )
    assert code == 0, out
    assert "language: de (given)" in out
    assert re.search(r"^tone: anger \d+\.\d of 100 \(phrase 'Frechheit'", out, re.MULTILINE), out
    assert "first message of a conversation: escalate: hands over to a human" in out
    assert re.search(r"^decision: escalate; why: angry: anger \d+\.\d >= 60$", out, re.MULTILINE), out


def test_explain_rejects_a_language_the_folder_does_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["intents", "explain", "hallo", "--language", "fr", str(GOOD)])
    assert code == 2
    assert "--language fr: the folder's languages are de, en" in capsys.readouterr().err


def test_import_of_intents_only_checks_the_target_folders_languages_and_says_what_to_copy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "new"
    target.mkdir()
    (target / "settings.yaml").write_text("settings:\n  languages: [de, fr]\n", encoding="utf-8")
    csv_file = tmp_path / "intents.csv"
    csv_file.write_text(
        "intent,field,language,text\nhello,title,de,Hallo\nhello,example,en,hello there\n", encoding="utf-8"
    )
    code = main(["intents", "import", "--csv", str(csv_file), "--into", str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{csv_file}:3: hello: language 'en' is not one of the folder's languages (de, fr)" in err

    csv_file.write_text("intent,field,language,text\nhello,title,de,Hallo\n", encoding="utf-8")
    code, out = run(capsys, "intents", "import", "--csv", str(csv_file), "--into", str(target))
    assert code == 0
    assert "note: the CSV has only intents; copy settings, variables, messages, tone and tests" in out


def test_check_validates_the_priority_project_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue #13: ``priority: urgent|high|normal|low`` is checked, and idle without escalate: true."""
    folder = copy_good(tmp_path)
    billing = folder / "intents" / "billing.yaml"
    text = billing.read_text(encoding="utf-8")
    billing.write_text(
        text.replace("  - id: invoice_copy\n", "  - id: invoice_copy\n    priority: high\n", 1)
    )
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 0
    assert "invoice_copy.priority: warning: priority 'high' has no effect without 'escalate: true'" in out
    billing.write_text(
        text.replace("  - id: invoice_copy\n", "  - id: invoice_copy\n    priority: asap\n", 1)
    )
    code, out = run(capsys, "intents", "check", str(folder))
    assert code == 1 and "invoice_copy.priority: Input should be 'urgent', 'high', 'normal' or 'low'" in out
