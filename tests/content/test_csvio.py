"""CSV export -> import -> load gives the same intents, including texts YAML likes to mangle."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from bot.content.csvio import ENCODING, folder_rows, intents_yaml, read_csv, read_csv_file, write_csv
from bot.content.loader import ContentError, load_folder
from bot.core.model import Intent
from tests.content.conftest import DEFAULTS, GOOD, MakeFolder

TRICKY = """
intents:
  - id: tricky
    title: {de: "Wo?", en: "no"}
    min_score: 82.5
    enabled: false
    escalate: true
    priority: urgent
    tags: [a, "yes"]
    follow_up: [invoice_copy]
    examples:
      de:
        - Wo ist meine Rechnung?
        - "no"
        - "0123"
        - "8:30"
        - "Hinweis: bitte, mit Komma"
        - "# kein Kommentar"
        - "- kein Listenpunkt"
        - "  führende Leerzeichen"
        - "zwei\\nZeilen"
        - 'Er sagte "Hallo" und ''tschüss'''
      en: [true story, "1.50", "@handle", "[brackets]", "{braces}", "* star", "%percent"]
    answers:
      de: ["Preis: $$5 bei $company"]
      en: ["Price: $$5 at $company"]
"""


def comparable(intents: tuple[Intent, ...]) -> list[Intent]:
    return [dataclasses.replace(intent, source=None) for intent in intents]


def round_trip(folder: Path, tmp_path: Path) -> Path:
    csv_file = tmp_path / "intents.csv"
    with csv_file.open("w", encoding=ENCODING, newline="") as out:
        write_csv(load_folder(folder, defaults=DEFAULTS).content.intents, out)
    imported = tmp_path / "imported"
    imported.mkdir()
    for name in ("settings.yaml", "messages.yaml", "tests.yaml"):
        shutil.copy(folder / name, imported / name)
    (imported / "intents.yaml").write_text(intents_yaml(read_csv(csv_file)), encoding="utf-8")
    return imported


def test_good_folder_round_trips(tmp_path: Path) -> None:
    imported = round_trip(GOOD, tmp_path)
    before = load_folder(GOOD, defaults=DEFAULTS).content.intents
    after = load_folder(imported, defaults=DEFAULTS).content.intents
    assert comparable(after) == comparable(before)


def test_tricky_texts_round_trip(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder(files={"intents/tricky.yaml": TRICKY})
    before = load_folder(folder, defaults=DEFAULTS).content
    tricky = before.intent("tricky")
    assert tricky is not None and tricky.examples["de"][8] == "zwei\nZeilen"
    imported = round_trip(folder, tmp_path)
    after = load_folder(imported, defaults=DEFAULTS).content
    assert comparable(after.intents) == comparable(before.intents)


def test_bad_rows_are_all_reported_with_their_line(tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "intent,field,language,text\n"
        "a,example,,no language\n"
        "a,exmaple,de,typo\n"
        ",example,de,no intent\n"
        "a,min_score,,high\n"
        "a,escalate,,yes\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        read_csv(csv_file)
    assert [p.line for p in caught.value.problems] == [2, 3, 4, 5, 6]
    assert "unknown field 'exmaple'" in caught.value.problems[1].what


def test_missing_columns(tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("intent;field;lang;text\n", encoding="utf-8")
    with pytest.raises(ContentError, match="missing column"):
        read_csv(csv_file)


def export_csv(folder: Path, csv_file: Path) -> None:
    result = load_folder(folder, defaults=DEFAULTS)
    with csv_file.open("w", encoding=ENCODING, newline="") as out:
        write_csv(result.content.intents, out, folder_rows(result))


def test_the_whole_folder_round_trips(tmp_path: Path) -> None:
    csv_file = tmp_path / "all.csv"
    export_csv(GOOD, csv_file)
    imported = read_csv_file(csv_file)
    assert list(imported.sections) == ["settings", "variables", "messages", "tone", "tests"]
    target = tmp_path / "imported"
    target.mkdir()
    (target / "intents.yaml").write_text(intents_yaml(imported.intents, imported.sections), encoding="utf-8")
    before = load_folder(GOOD, defaults=DEFAULTS).content
    after = load_folder(target, defaults=DEFAULTS).content
    assert comparable(after.intents) == comparable(before.intents)
    assert after.settings == before.settings
    assert after.variables == before.variables
    assert after.messages == before.messages
    assert after.tone == before.tone
    assert [(t.text, t.language, t.expect) for t in after.tests] == [
        (t.text, t.language, t.expect) for t in before.tests
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path: Path, delimiter: str) -> None:
    csv_file = tmp_path / "excel.csv"
    rows = [
        ["intent", "field", "language", "text"],
        ["router_reset", "title", "de", "Router neu starten"],
        ["router_reset", "example", "de", "Router neu starten; wie geht das?"],
        ["router_reset", "answer", "de", "Stecker ziehen, 10 Sekunden warten"],
    ]
    text = "\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows)
    csv_file.write_text(text + "\n", encoding="utf-8-sig")
    [intent] = read_csv(csv_file)
    assert intent["examples"] == {"de": ["Router neu starten; wie geht das?"]}
    assert intent["answers"] == {"de": ["Stecker ziehen, 10 Sekunden warten"]}


def test_unknown_languages_and_invalid_ids_are_reported_with_all_other_bad_rows(tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "intent;field;language;text\n"
        "router_reset;example;de;Router neu starten\n"
        "router_reset;example;xx;unknown language\n"
        "Bad Id;example;de;an id with a space and capitals\n"
        "router_reset;follow_up;;Not An Id\n"
        "router_reset;escalate;;maybe\n"
        "router_reset;priority;;asap\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        read_csv_file(csv_file)
    problems = caught.value.problems
    assert [p.line for p in problems] == [3, 4, 5, 6, 7], problems
    assert "priority must be one of urgent, high, normal, low, not 'asap'" in problems[4].what
    assert "language 'xx' is not one of the folder's languages (de, en)" in problems[0].what
    assert "'Bad Id' is not a valid id" in problems[1].what
    assert "follow_up 'Not An Id' is not a valid id" in problems[2].what
    assert "escalate must be true or false" in problems[3].what


def test_languages_come_from_the_files_own_settings_row(tmp_path: Path) -> None:
    csv_file = tmp_path / "fr.csv"
    csv_file.write_text(
        'intent,field,language,text\nlanguages,setting,,"fr, de"\na,example,fr,bonjour\nb,example,en,hello\n',
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        read_csv_file(csv_file)
    [problem] = caught.value.problems
    assert problem.line == 4 and "language 'en' is not one of the folder's languages (fr, de)" in problem.what


FORMULAS = """
intents:
  - id: formulas
    title: {de: "=1+1", en: "@SUM(A1)"}
    examples:
      de:
        - "=HYPERLINK(\\"http://evil.example\\",\\"Rechnung\\")"
        - "+49 30 123"
        - "-5 Euro zurück"
        - "@bot hilfe"
        - "\\tmit Tab"
        - "\\rmit Wagenrücklauf"
        - "'schon mit Apostroph"
        - "''zwei Apostrophe"
        - "harmlos = 1"
      en: ["plain"]
    answers:
      de: ["=2+2 ist vier"]
      en: ["fine"]
tone:
  anger:
    de: {"=wut": 1.5}
"""


def test_cells_a_spreadsheet_would_run_are_neutralised_and_read_back_losslessly(
    make_folder: MakeFolder, tmp_path: Path
) -> None:
    """OWASP CSV injection: no cell of the export starts with = + - @ tab or CR; import gives back the very
    same texts, including ones that begin with an apostrophe."""
    import csv

    folder = make_folder(files={"intents/formulas.yaml": FORMULAS})
    csv_file = tmp_path / "formulas.csv"
    export_csv(folder, csv_file)
    with csv_file.open(encoding=ENCODING, newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","Rechnung")' in cells
    assert (
        "'=wut" in cells
        and "'-5 Euro zurück" in cells
        and "''schon mit Apostroph" in cells
        and "'''zwei Apostrophe" in cells
    )
    assert "harmlos = 1" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]

    before = load_folder(folder, defaults=DEFAULTS).content
    imported = read_csv_file(csv_file)
    out = tmp_path / "imported"
    out.mkdir()
    (out / "intents.yaml").write_text(intents_yaml(imported.intents, imported.sections), encoding="utf-8")
    after = load_folder(out, defaults=DEFAULTS).content
    assert comparable(after.intents) == comparable(before.intents)
    assert after.tone.anger == before.tone.anger
