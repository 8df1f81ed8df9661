"""Every real problem in one run, and none of the knock-on errors that would bury it (spec: all at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.loader import ContentError, Problem, load_folder
from tests.content.conftest import DEFAULTS, MakeFolder


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(ContentError) as caught:
        load_folder(folder, defaults=DEFAULTS)
    return caught.value.problems


def test_placeholders_are_checked_even_when_sibling_fields_have_type_errors(make_folder: MakeFolder) -> None:
    problems = problems_of(make_folder("knock_on"))
    errors = [(p.line, p.where, p.what) for p in problems if p.is_error]
    assert [where for _, where, _ in errors] == [
        "intents[0] fault_report.answers.de[0]",
        "intents[0] fault_report.answers.en[0]",
        "intents[0] fault_report.answers.en[1]",
        "intents[0] fault_report.escalate",
    ], errors
    assert "uses $fault_hotine" in errors[0][2] and "did you mean $hotline?" in errors[0][2]
    assert "uses $fault_hotine" in errors[1][2]
    assert "YAML boolean 'no'" in errors[2][2]
    assert "must be true or false" in errors[3][2]


def test_placeholders_are_checked_in_an_intent_whose_id_is_invalid(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "extra.yaml": "intents:\n"
            "  - id: Bad Id\n"
            "    title: {de: X, en: X}\n"
            "    examples: {de: [a b c], en: [a b c]}\n"
            "    answers: {de: [$nope], en: [ok]}\n"
        }
    )
    whats = [p.what for p in problems_of(folder) if p.is_error]
    assert any("is not a valid id" in what for what in whats), whats
    assert any("uses $nope" in what for what in whats), whats


def test_a_file_that_does_not_parse_hides_its_knock_on_errors(make_folder: MakeFolder) -> None:
    folder = make_folder()
    billing = folder / "intents" / "billing.yaml"
    text = billing.read_text(encoding="utf-8")
    billing.write_text(text.replace("    examples:", "     examples:", 1), encoding="utf-8")
    problems = problems_of(folder)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, "\n".join(map(str, problems))
    assert errors[0].path == str(billing) and errors[0].where == "(yaml)"
    assert "indentation" in errors[0].what
    # tests.yaml expects invoice_copy, defined in the unreadable file: not reported, but counted
    notes = [p for p in problems if not p.is_error and "follow-on error(s)" in p.what]
    assert len(notes) == 1 and notes[0].path == str(billing), problems
    assert "could not be read" in notes[0].what
    assert not any(
        "is not the id of any intent" in p.what or "must be an intent id" in p.what for p in problems
    )


def test_ids_not_defined_in_the_broken_file_are_still_reported(make_folder: MakeFolder) -> None:
    folder = make_folder(files={"tests2.yaml": "tests:\n  - {text: hallo, expect: no_such_intent}\n"})
    billing = folder / "intents" / "billing.yaml"
    billing.write_text(billing.read_text(encoding="utf-8").replace("    examples:", "     examples:", 1))
    whats = [p.what for p in problems_of(folder) if p.is_error]
    assert any("expect 'no_such_intent' must be an intent id" in what for what in whats), whats


def test_references_to_an_intent_with_an_invalid_id_are_knock_ons(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "extra.yaml": "intents:\n"
            "  - id: Router Reset\n"
            "    title: {de: X, en: X}\n"
            "    examples: {de: [a b c], en: [a b c]}\n"
            "    answers: {de: [ja], en: [yes please]}\n"
            "tests:\n"
            "  - {text: router neu starten, expect: router_reset}\n"
        }
    )
    problems = problems_of(folder)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1 and "is not a valid id" in errors[0].what, "\n".join(map(str, problems))
    assert any("1 follow-on error(s)" in p.what and "an intent here is invalid" in p.what for p in problems)


def test_ids_written_in_flow_style_in_an_unreadable_file_count_too(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "router.yaml": "intents:\n"
            "  - {id: router_reset, title: {de: Router, en: Router}\n",  # the closing brace is missing
            "more_tests.yaml": "tests:\n  - {text: router neu starten, expect: router_reset}\n",
        }
    )
    problems = problems_of(folder)
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1 and errors[0].where == "(yaml)", "\n".join(map(str, problems))
    assert any("1 follow-on error(s)" in p.what for p in problems), problems
