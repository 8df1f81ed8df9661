"""The loader against real YAML folders: the good fixture, and one broken overlay per kind of mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content.loader import ContentError, LoadResult, Problem, folder_fingerprint, load_folder
from bot.core.messages import MESSAGES
from tests.content.conftest import DEFAULTS, GOOD, MakeFolder


def load(folder: Path) -> LoadResult:
    return load_folder(folder, defaults=DEFAULTS)


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(ContentError) as caught:
        load(folder)
    return caught.value.problems


def only(problems: list[Problem], severity: str = "error") -> Problem:
    chosen = [p for p in problems if p.severity == severity]
    assert len(chosen) == 1, "\n".join(map(str, problems))
    return chosen[0]


def test_good_folder_loads_into_the_core_types() -> None:
    result = load(GOOD)
    content = result.content
    assert result.warnings == []
    assert [i.id for i in content.intents] == [
        "invoice_copy",
        "invoice_wrong",
        "cancellation",
        "opening_hours",
    ]
    invoice = content.intent("invoice_copy")
    assert invoice is not None
    assert invoice.examples["de"][0] == "Wo finde ich meine Rechnung?"
    assert invoice.not_examples["en"] == ("my bill is wrong",)
    assert invoice.follow_up == ("invoice_wrong",)
    assert invoice.tags == ("billing",)
    assert invoice.min_score is None
    assert invoice.source is not None and invoice.source.path.endswith("intents/billing.yaml")
    assert invoice.source.line == 2
    wrong = content.intent("invoice_wrong")
    assert wrong is not None and wrong.min_score == 80 and wrong.escalate is True
    assert content.settings.languages == ("de", "en") and content.settings.max_misses == 2
    assert content.variables["hotline"] == {"de": "0800 123 456", "en": "+49 800 123 456"}
    assert content.variables_for("en")["hotline"] == "+49 800 123 456"
    assert content.tone.anger["de"]["Frechheit"] == 3
    assert content.tone.handoff["en"] == ("human", "real person")
    assert [t.expect for t in content.tests] == ["invoice_copy", "cancellation", "escalate", "not_understood"]
    assert set(content.messages) == set(MESSAGES)
    assert content.messages["greeting"]["de"].startswith("Hallo $customer_name")  # the folder wins
    assert re.fullmatch(r"[0-9a-f]{64}", content.fingerprint)
    # ``8:00`` inside a quoted answer stays text; ``$$`` is a literal dollar sign.
    hours = content.intent("opening_hours")
    assert hours is not None and "8:00 bis 20:00" in hours.answers["de"][0]


def test_every_file_in_sub_folders_is_read_in_sorted_order(make_folder: MakeFolder) -> None:
    folder = make_folder(files={".hidden/skip.yaml": "bogus: [", "notes.txt": "not yaml"})
    result = load(folder)
    names = [Path(f).relative_to(folder).as_posix() for f in result.files]
    assert names == [
        "intents/billing.yaml",
        "intents/contract.yml",
        "messages.yaml",
        "settings.yaml",
        "tests.yaml",
    ]


def test_fingerprint_changes_with_the_bytes_and_matches_the_cheap_check(make_folder: MakeFolder) -> None:
    folder = make_folder()
    first = load(folder).content.fingerprint
    assert first == load(folder).content.fingerprint == folder_fingerprint(folder, defaults=DEFAULTS)
    (folder / "tests.yaml").write_text((folder / "tests.yaml").read_text() + "\n# a comment\n")
    assert load(folder).content.fingerprint != first


def test_problem_format_is_path_line_where_what(make_folder: MakeFolder) -> None:
    with pytest.raises(ContentError) as caught:
        load(make_folder("yes_no"))
    lines = str(caught.value).splitlines()
    assert lines == [str(p) for p in caught.value.problems]
    assert lines[0].endswith(
        "extra/answers.yaml:11: intents[0] yes_or_no.answers.en[0]: is the YAML boolean 'no'; "
        'put it in quotes ("no") if you mean the word'
    )


@pytest.mark.parametrize(
    ("case", "file", "line", "where", "what"),
    [
        (
            "duplicate_keys",
            "extra/variables.yaml",
            3,
            "variables.support_mail",
            "appears twice in this mapping (lines 2 and 3)",
        ),
        (
            "yes_no",
            "extra/answers.yaml",
            11,
            "intents[0] yes_or_no.answers.en[0]",
            "is the YAML boolean 'no'",
        ),
        ("octal", "extra/codes.yaml", 2, "variables.area_code", "'0123' is read by YAML as the number 83"),
        ("question_in_flow_list", "extra/faq.yaml", 5, "(yaml)", "write one example per line"),
        ("missing_answer", "extra/roaming.yaml", 7, "intents[0] roaming.answers", "has no answer in 'en'"),
        (
            "undefined_placeholder",
            "extra/roaming.yaml",
            9,
            "intents[0] roaming.answers.de[0]",
            "uses $roaming_url",
        ),
        (
            "unknown_top_level",
            "extra/extra.yaml",
            1,
            "intens",
            "unknown key 'intens' (did you mean 'intents'?)",
        ),
        ("bad_id", "extra/bad.yaml", 2, "intents[0] Router-Reset.id", "'Router-Reset' is not a valid id"),
        (
            "score_range",
            "extra/score.yaml",
            4,
            "intents[0] router_reset.min_score",
            "must be at most 100, not 120",
        ),
        (
            "unknown_follow_up",
            "extra/follow.yaml",
            10,
            "intents[0] router_reset.follow_up[1]",
            "'router_replacement'",
        ),
        ("syntax_error", "extra/broken.yaml", 7, "(yaml)", "indentation does not line up"),
        ("unknown_message", "extra/messages.yaml", 2, "messages.greting", "did you mean 'greeting'?"),
    ],
)
def test_each_mistake_is_an_error_at_its_line(
    make_folder: MakeFolder, case: str, file: str, line: int, where: str, what: str
) -> None:
    folder = make_folder(case)
    problems = problems_of(folder)
    matching = [p for p in problems if p.is_error and what in p.what]
    assert matching, "\n".join(map(str, problems))
    problem = matching[0]
    assert Path(problem.path) == folder / file
    assert (problem.line, problem.where) == (line, where)


def test_octal_and_sexagesimal_are_errors_where_text_or_numbers_are_expected(make_folder: MakeFolder) -> None:
    problems = problems_of(make_folder("octal"))
    whats = {p.where: p.what for p in problems}
    assert "'8:30' is read by YAML as the number 510" in whats["variables.opening"]
    assert "octal" in whats["intents[0] area_code.min_score"]
    assert len(problems) == 3  # nothing else: $area_code counts as defined though its value is broken


def test_yes_for_a_boolean_field_asks_for_true_or_false(make_folder: MakeFolder) -> None:
    problems = problems_of(make_folder("yes_no"))
    assert any(p.where == "intents[0] yes_or_no.escalate" and "true or false" in p.what for p in problems)


def test_duplicate_intent_id_across_files_names_both_places(make_folder: MakeFolder) -> None:
    folder = make_folder("duplicate_id")
    problem = only(problems_of(folder))
    assert "'invoice_copy' is defined twice" in problem.what
    places = {f"{problem.path}:{problem.line}", *re.findall(r"at (\S+:\d+)", problem.what)}
    assert places == {f"{folder / 'intents/billing.yaml'}:2", f"{folder / 'extra/more.yaml'}:3"}


def test_a_variable_or_message_defined_in_two_files_names_both(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "more.yaml": "variables:\n  company: Andere GmbH\nmessages:\n  rate: {de: Note bitte, en: Grade please}\n",
        }
    )
    problems = problems_of(folder)
    assert len(problems) == 2
    company = next(p for p in problems if "the variable 'company' is defined twice" in p.what)
    assert f"{folder / 'settings.yaml'}:10:" in str(company) and f"{folder / 'more.yaml'}:2" in str(company)
    rate = next(p for p in problems if "the message 'rate' is defined twice" in p.what)
    assert f"{folder / 'messages.yaml'}:" in str(rate) and f"{folder / 'more.yaml'}:4" in str(rate)


def test_missing_examples_translation_is_only_a_warning(make_folder: MakeFolder) -> None:
    result = load(make_folder("missing_examples"))
    warning = only(result.warnings, "warning")
    assert warning.where == "intents[0] roaming.examples"
    assert "has no examples in 'en'" in warning.what
    assert result.content.intent("roaming") is not None


def test_every_problem_in_every_file_is_reported_at_once(make_folder: MakeFolder) -> None:
    folder = make_folder("many")
    problems = problems_of(folder)
    found = {(Path(p.path).relative_to(folder).as_posix(), p.line) for p in problems}
    assert found == {
        ("extra/a.yaml", 5),  # min_score 101
        ("extra/a.yaml", 9),  # no answer in en (reported although min_score is broken)
        ("extra/a.yaml", 10),  # $unplug_time
        ("extra/a.yaml", 11),  # follow_up modem_reset
        ("extra/sub/b.yaml", 4),  # expect router_rest
        ("extra/sub/c.yaml", 6),  # '?' in a flow list
        ("settings.yaml", 10),  # company defined twice
    }


def test_question_mark_item_that_yaml_reads_as_a_mapping(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={
            "q.yaml": "tone:\n  handoff:\n    de: [?Mensch, Hinweis: Mitarbeiter]\n",
        }
    )
    problems = problems_of(folder)
    assert {p.where for p in problems} >= {"tone.handoff.de[0]", "tone.handoff.de[1]"}
    assert all(p.line == 3 for p in problems)
    assert any("because of a ':' or '?'" in p.what for p in problems)


@pytest.mark.parametrize(
    ("yaml_text", "where", "what"),
    [
        ("variables:\n  answer: no\n", "variables.answer", "is the YAML boolean 'no'"),
        ("variables:\n  flag: True\n", "variables.flag", "is the YAML boolean 'True'"),
        ("variables:\n  flag: Off\n", "variables.flag", "is the YAML boolean 'Off'"),
        ("variables:\n  price: 1.50\n", "variables.price", "read by YAML as the float 1.5"),
        ("variables:\n  hex: 0x1F\n", "variables.hex", "read by YAML as the number 31"),
        ("variables:\n  empty:\n", "variables.empty", "is empty"),
        ("settings:\n  languages: [de, en]\n", "settings.languages", "defined twice"),
        ("settings:\n  languages: [de, 'no']\n", "settings.languages", "defined twice"),
        ("settings_extra:\n  x: 1\n", "settings_extra", "did you mean 'settings'?"),
        ("intents:\n  - id: a\n    exampels: {}\n", "intents[0] a.exampels", "did you mean 'examples'?"),
        ("tests:\n  - {text: x, expect: nothing_here}\n", "tests[0].expect", "must be an intent id"),
        (
            "tests:\n  - {text: x, expect: escalate, language: fr}\n",
            "tests[0].language",
            "not in settings.languages",
        ),
        ("variables:\n  <<: {a: b}\n", "variables", "merge keys"),
        ("tests:\n  - {text: '', expect: escalate}\n", "tests[0].text", "the test text is empty"),
        ("messages:\n  rate_thanks: {de: 'Danke: $stars'}\n", "messages.rate_thanks.de", "uses $stars"),
        ("messages:\n  handoff: {de: 'Kosten: 5$'}\n", "messages.handoff.de", "write $$ for a dollar sign"),
    ],
)
def test_yaml_surprises_and_typos_are_errors(
    make_folder: MakeFolder, yaml_text: str, where: str, what: str
) -> None:
    # Messages replace the good folder's messages.yaml (else they would be defined twice).
    name = "messages.yaml" if yaml_text.startswith("messages:") else "zz.yaml"
    problems = problems_of(make_folder(files={name: yaml_text}))
    assert any(p.where == where and what in p.what for p in problems), "\n".join(map(str, problems))


def test_empty_sections_are_fine(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={"empty.yaml": "# nothing yet\nintents:\nmessages:\nvariables:\ntone:\ntests:\n"}
    )
    assert len(load(folder).content.intents) == 4


def test_norway_is_a_language_only_in_quotes(make_folder: MakeFolder) -> None:
    folder = make_folder(base=None, files={"settings.yaml": "settings:\n  languages: [de, no]\n"})
    problems = problems_of(folder)
    assert [(p.where, p.line) for p in problems] == [("settings.languages[1]", 2)]
    assert "is the YAML boolean 'no'" in problems[0].what


def test_plain_numbers_and_dates_that_survive_as_text_are_accepted(make_folder: MakeFolder) -> None:
    folder = make_folder(files={"zz.yaml": "variables:\n  zip: 10115\n  since: 2024-01-31\n  ratio: 2.5\n"})
    variables = load(folder).content.variables
    assert (variables["zip"], variables["since"], variables["ratio"]) == ("10115", "2024-01-31", "2.5")


def test_messages_default_layer_is_overridden_per_name_and_language(make_folder: MakeFolder) -> None:
    folder = make_folder(
        files={"messages.yaml": "messages:\n  rate: {en: 'Stars, please (1-5)'}\n"},
    )
    messages = load(folder).content.messages
    assert messages["rate"]["en"] == "Stars, please (1-5)"
    assert messages["rate"]["de"] == "Wie zufrieden waren Sie? (1-5)"  # from the defaults
    assert messages["greeting"]["de"] == "Guten Tag! Hier schreibt der automatische Assistent."


def test_a_message_without_default_language_text_is_an_error(make_folder: MakeFolder, tmp_path: Path) -> None:
    empty_defaults = tmp_path / "defaults.yaml"
    empty_defaults.write_text("messages:\n  rate: {de: Note bitte}\n")
    folder = make_folder(files={"messages.yaml": "messages:\n  clarify: {en: Which one}\n"})
    with pytest.raises(ContentError) as caught:
        load_folder(folder, defaults=empty_defaults)
    errors = caught.value.errors
    assert len(errors) == len(MESSAGES) - 1  # every name but 'rate' lacks German
    assert any(p.where == "messages.clarify" and "has no text in 'de'" in p.what for p in errors)
    warnings = [p for p in caught.value.problems if not p.is_error]
    assert [p.where for p in warnings] == ["messages.rate"]  # German only: English falls back


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="does not exist"):
        load(tmp_path / "nope")
    with pytest.raises(ContentError, match=r"no \.yaml or \.yml files"):
        load(tmp_path)


def test_a_file_that_is_not_utf8_names_its_line(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "latin1.yaml").write_bytes("variables:\n  x: 'Gr\xfc\xdfe'\n".encode("latin-1"))
    problem = only(problems_of(folder))
    assert (problem.line, problem.where) == (2, "(file)") and "UTF-8" in problem.what


def test_an_unclosed_quote_points_at_where_it_opens(make_folder: MakeFolder) -> None:
    folder = make_folder(files={"zz.yaml": 'variables:\n  a: "open\n  b: x\n\n\n'})
    problem = only(problems_of(folder))
    assert problem.line == 2 and "never closed" in problem.what


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("variables:\n\tx: 1\n", "indent with spaces only"),
        ("variables:\n  x: [a, b\n\n\n", "a '[' or '{' is not closed"),
        ("variables:\n  x: Hinweis: bitte\n", "put the whole text in quotes"),
        ("variables:\n  x: @handle\n", "put the text in quotes"),
        ("variables: {x: 1}\n---\nvariables: {y: 2}\n", "remove the second '---'"),
    ],
)
def test_syntax_errors_are_translated(make_folder: MakeFolder, text: str, what: str) -> None:
    problem = only(problems_of(make_folder(files={"zz.yaml": text})))
    assert problem.where == "(yaml)" and what in problem.what


def test_windows_files_with_byte_order_mark_and_crlf_load(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "windows.yaml").write_bytes('\ufeffvariables:\r\n  fax: "0800 1"\r\n  mood: no\r\n'.encode())
    problem = only(problems_of(folder))
    assert (problem.line, problem.where) == (3, "variables.mood")
    (folder / "windows.yaml").write_bytes('\ufeffvariables:\r\n  fax: "0800 1"\r\n'.encode())
    assert load(folder).content.variables["fax"] == "0800 1"
