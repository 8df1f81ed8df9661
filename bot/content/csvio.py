"""CSV export and import of the intents, for editors who review or translate in a spreadsheet.

One row per text: ``intent, field, language, text`` with ``field`` one of ``title``, ``example``,
``not_example``, ``answer``. The intent's other keys travel as rows without a language (``min_score``,
``follow_up``, ``escalate``, ``priority``, ``enabled``, ``tag``). The rest of the folder travels too, so that an imported
folder is complete and passes ``intents check``: ``setting``, ``variable`` and ``message`` rows carry the name
in the ``intent`` column; ``anger`` rows carry the weight there, ``test`` rows the expected outcome, and
``handoff`` rows leave it empty. Export followed by import loses nothing (comments aside).

The delimiter is read from the header line: ``,``, ``;`` (what German Excel writes) or a tab. Every bad row
is reported at once with its line; languages must be the target folder's (given by the caller), else those
of the file's ``languages`` setting row, else the bot's defaults; ids must be written like in YAML (``a-z``,
``0-9``, ``_``).

Cells a spreadsheet would run as a formula (OWASP "CSV injection": a leading ``=``, ``+``, ``-``, ``@``, tab
or carriage return) are written with a ``'`` in front, and so is a cell that itself begins with ``'``. Import
removes exactly one leading ``'`` from every cell that has one, so export followed by import is lossless: a
text that begins with an apostrophe comes back with it (written as two). Customer text reaches the intents
through ``intents suggest``, so a ``=HYPERLINK(...)`` "example" is a real risk, not a theory.

Import writes YAML that the strict loader reads back to the same texts: PyYAML's dumper quotes every text
that YAML would otherwise turn into something else (``no``, ``0123``, ``8:30``), and lists are written one
item per line, where a ``?`` is harmless.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.content.loader import LoadResult
from bot.content.problems import ContentError, Problem
from bot.content.schema import ID_PATTERN
from bot.content.yamlio import dump_yaml
from bot.core.model import Intent, Settings

COLUMNS = ("intent", "field", "language", "text")
TEXT_FIELDS = {"title": "title", "example": "examples", "not_example": "not_examples", "answer": "answers"}
"""CSV field -> YAML key for per-language texts."""
PRIORITIES = ("urgent", "high", "normal", "low")
META_FIELDS = ("min_score", "follow_up", "escalate", "priority", "enabled", "tag")
FOLDER_FIELDS = ("setting", "variable", "message", "anger", "handoff", "test")
"""Rows for the rest of the folder; the ``intent`` column holds the name (of the setting, variable or message),
the weight (anger) or the expected outcome (test)."""
SECTION_ORDER = ("settings", "variables", "messages", "tone", "tests")
SETTING_NAMES = tuple(setting.name for setting in dataclasses.fields(Settings))
DELIMITERS = (",", ";", "\t")
ID_RE = re.compile(ID_PATTERN)
ENCODING = "utf-8-sig"
"""With a byte-order mark, so spreadsheet programs recognise UTF-8 (umlauts) when opening the file."""


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""
ESCAPE = "'"


def protect(cell: str) -> str:
    """The cell as written: ``'`` in front of a formula start, and in front of a leading ``'`` (so that
    :func:`unprotect` can always remove exactly one)."""
    return ESCAPE + cell if cell.startswith((*FORMULA_STARTS, ESCAPE)) else cell


def unprotect(cell: str) -> str:
    """The cell as meant: one leading ``'`` removed (the one :func:`protect` adds)."""
    return cell[1:] if cell.startswith(ESCAPE) else cell


def export_rows(intents: Iterable[Intent]) -> Iterator[dict[str, str]]:
    for intent in intents:

        def row(field: str, language: str, text: str, intent_id: str = intent.id) -> dict[str, str]:
            return {"intent": intent_id, "field": field, "language": language, "text": text}

        for language, title in intent.title.items():
            yield row("title", language, title)
        for field, key in TEXT_FIELDS.items():
            if key == "title":
                continue
            texts: dict[str, tuple[str, ...]] = dict(getattr(intent, key))
            for language, items in texts.items():
                for text in items:
                    yield row(field, language, text)
        if intent.min_score is not None:
            yield row("min_score", "", f"{intent.min_score:g}")
        for target in intent.follow_up:
            yield row("follow_up", "", target)
        if intent.escalate:
            yield row("escalate", "", "true")
        if intent.priority is not None:
            yield row("priority", "", intent.priority.value)
        if not intent.enabled:
            yield row("enabled", "", "false")
        for tag in intent.tags:
            yield row("tag", "", tag)


def folder_rows(result: LoadResult) -> Iterator[dict[str, str]]:
    """Everything besides the intents, so that an imported folder is complete: the folder's own messages
    (not the shipped defaults), variables, settings, tone and tests."""

    def row(name: str, field: str, language: str, text: str) -> dict[str, str]:
        return {"intent": name, "field": field, "language": language, "text": text}

    content = result.content
    for setting in dataclasses.fields(Settings):
        value = getattr(content.settings, setting.name)
        shown = ", ".join(value) if isinstance(value, tuple) else f"{value:g}"
        yield row(setting.name, "setting", "", shown)
    for name, variable in content.variables.items():
        if isinstance(variable, str):
            yield row(name, "variable", "", variable)
        else:
            for language, text in variable.items():
                yield row(name, "variable", language, text)
    for name, texts in content.messages.items():
        for language, text in texts.items():
            if ("message", name, language) in result.sources:
                yield row(name, "message", language, text)
    for language, phrases in content.tone.anger.items():
        for phrase, weight in phrases.items():
            yield row(f"{weight:g}", "anger", language, phrase)
    for language, handoff in content.tone.handoff.items():
        for phrase in handoff:
            yield row("", "handoff", language, phrase)
    for case in content.tests:
        yield row(case.expect, "test", case.language or "", case.text)


def write_csv(intents: Iterable[Intent], out: TextIO, extra: Iterable[dict[str, str]] = ()) -> int:
    """The intents' rows, then ``extra`` (see :func:`folder_rows`); returns the number of rows."""
    # "\r\n" (RFC 4180): Python 3.11 quotes a cell only for the characters of the line terminator, and a
    # bare "\r" in an unquoted cell would read back as a line break.
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in itertools.chain(export_rows(intents), extra):
        writer.writerow({key: protect(value) for key, value in row.items()})
        count += 1
    return count


@dataclass(slots=True)
class Imported:
    """What a CSV file holds, as YAML-ready data."""

    intents: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    sections: dict[str, Any] = dataclasses.field(default_factory=dict)
    """``settings``, ``variables``, ``messages``, ``tone``, ``tests``: only those the file has rows for."""


def _open_rows(path: Path) -> csv.DictReader[str]:
    """A reader with the delimiter the file uses (``,``, ``;`` as German Excel writes,
    or a tab); the header line decides."""
    shown = str(path)
    try:
        # newline="": a carriage return inside a quoted cell is text, not a line break to translate.
        with path.open(encoding=ENCODING, newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ContentError([Problem(shown, 1, "(file)", "does not exist")]) from None
    except IsADirectoryError:
        raise ContentError([Problem(shown, 1, "(file)", "is a folder; give the CSV file")]) from None
    except UnicodeDecodeError:
        raise ContentError(
            [Problem(shown, 1, "(file)", "is not UTF-8 text; save it as 'CSV UTF-8' in the spreadsheet")]
        ) from None
    except OSError as error:
        raise ContentError([Problem(shown, 1, "(file)", f"cannot be read: {error.strerror}")]) from None
    header = text.split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    if not counts[delimiter]:
        delimiter = ","
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Only the intents of :func:`read_csv_file` (every bad row is still reported)."""
    return read_csv_file(path).intents


def read_csv_file(path: Path, languages: Sequence[str] | None = None) -> Imported:
    """Intents (in the order they first appear) and the folder's other sections; every bad row is reported
    at once, with its line.

    Languages are checked against ``languages`` (the target folder's), else against the file's own
    ``languages`` setting row, else against the bot's default languages.
    """
    shown = str(path)
    reader = _open_rows(path)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ContentError(
            [
                Problem(
                    shown,
                    1,
                    "header",
                    f"missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)} "
                    f"(found: {', '.join(reader.fieldnames or ()) or 'nothing'})",
                )
            ]
        )
    rows = [
        (reader.line_num, {k: unprotect(v) if isinstance(v, str) else v for k, v in row.items()})
        for row in reader
    ]
    if languages is None:
        languages = _languages_row(rows) or Settings().languages
    intents: dict[str, dict[str, Any]] = {}
    sections: dict[str, Any] = {}
    problems: list[Problem] = []
    for line, row in rows:
        intent_id = (row.get("intent") or "").strip()
        field_name = (row.get("field") or "").strip()
        language = (row.get("language") or "").strip()
        value = row.get("text") or ""

        def bad(what: str, where: str = intent_id, line: int = line) -> None:
            problems.append(Problem(shown, line, where or "row", what))

        if None in row:
            bad(f"has more than {len(COLUMNS)} columns; put texts with a separator in quotes")
            continue
        if language and language not in languages:
            bad(f"language '{language}' is not one of the folder's languages ({', '.join(languages)})")
            continue
        if field_name in FOLDER_FIELDS:
            error = _folder_row(sections, intent_id, field_name, language, value)
            if error:
                bad(error)
            continue
        if not intent_id:
            bad("the intent column is empty", "intent")
            continue
        if not ID_RE.match(intent_id):
            bad(f"'{intent_id}' is not a valid id: use only lowercase letters a-z, digits and '_'")
            continue
        intent = intents.setdefault(intent_id, {"id": intent_id})
        if field_name in TEXT_FIELDS:
            if not language:
                bad(f"a {field_name} needs a language ({', '.join(languages)})")
                continue
            key = TEXT_FIELDS[field_name]
            if key == "title":
                intent.setdefault("title", {})[language] = value
            else:
                intent.setdefault(key, {}).setdefault(language, []).append(value)
        elif field_name == "min_score":
            try:
                score = float(value)
            except ValueError:
                bad(f"min_score must be a number, not {value!r}")
                continue
            intent["min_score"] = int(score) if score.is_integer() else score
        elif field_name == "follow_up":
            target = value.strip()
            if not ID_RE.match(target):
                bad(f"follow_up '{target}' is not a valid id: use only lowercase letters a-z, digits and '_'")
                continue
            intent.setdefault("follow_up", []).append(target)
        elif field_name in ("escalate", "enabled"):
            if value.strip().lower() not in ("true", "false"):
                bad(f"{field_name} must be true or false, not {value!r}")
                continue
            intent[field_name] = value.strip().lower() == "true"
        elif field_name == "priority":
            if value.strip().lower() not in PRIORITIES:
                bad(f"priority must be one of {', '.join(PRIORITIES)}, not {value!r}")
                continue
            intent["priority"] = value.strip().lower()
        elif field_name == "tag":
            intent.setdefault("tags", []).append(value)
        else:
            known = ", ".join([*TEXT_FIELDS, *META_FIELDS, *FOLDER_FIELDS])
            bad(f"unknown field {field_name!r}; use one of {known}")
    if problems:
        raise ContentError(problems)
    return Imported([_ordered(intent) for intent in intents.values()], sections)


def _languages_row(rows: list[tuple[int, dict[str | None, Any]]]) -> tuple[str, ...]:
    for _, row in rows:
        if (row.get("field") or "").strip() == "setting" and (row.get("intent") or "").strip() == "languages":
            return tuple(part.strip() for part in str(row.get("text") or "").split(",") if part.strip())
    return ()


def _folder_row(
    sections: dict[str, Any], name: str, field_name: str, language: str, value: str
) -> str | None:
    """Put one non-intent row into ``sections``; the reason it cannot be read, if it cannot."""
    if field_name == "setting":
        if name not in SETTING_NAMES:
            return f"unknown setting '{name}'; settings are {', '.join(SETTING_NAMES)}"
        settings = sections.setdefault("settings", {})
        if name == "languages":
            settings[name] = [part.strip() for part in value.split(",") if part.strip()]
            return None
        try:
            number = float(value)
        except ValueError:
            return f"the setting {name} must be a number, not {value!r}"
        settings[name] = int(number) if number.is_integer() else number
    elif field_name == "variable":
        if not name:
            return "a variable needs its name in the intent column"
        variables = sections.setdefault("variables", {})
        if language:
            existing = variables.setdefault(name, {})
            if not isinstance(existing, dict):
                return f"the variable {name} has a text for all languages already (a row without language)"
            existing[language] = value
        else:
            variables[name] = value
    elif field_name == "message":
        if not language:
            return "a message needs a language"
        sections.setdefault("messages", {}).setdefault(name, {})[language] = value
    elif field_name == "anger":
        try:
            weight = float(name)
        except ValueError:
            return f"an anger phrase needs its weight (a number) in the intent column, not {name!r}"
        if not language:
            return "an anger phrase needs a language"
        anger = sections.setdefault("tone", {}).setdefault("anger", {}).setdefault(language, {})
        anger[value] = int(weight) if weight.is_integer() else weight
    elif field_name == "handoff":
        if not language:
            return "a handoff phrase needs a language"
        sections.setdefault("tone", {}).setdefault("handoff", {}).setdefault(language, []).append(value)
    elif field_name == "test":
        if not ID_RE.match(name):
            return f"a test needs the expected intent id, escalate or not_understood in the intent column, not {name!r}"
        case: dict[str, str] = {"text": value}
        if language:
            case["language"] = language
        case["expect"] = name
        sections.setdefault("tests", []).append(case)
    return None


_KEY_ORDER = (
    "id",
    "title",
    "tags",
    "examples",
    "not_examples",
    "answers",
    "min_score",
    "follow_up",
    "escalate",
    "priority",
)


def _ordered(intent: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order editors know from the shipped files."""
    ordered = {key: intent[key] for key in _KEY_ORDER if key in intent}
    ordered.update({key: value for key, value in intent.items() if key not in ordered})
    return ordered


def intents_yaml(intents: list[dict[str, Any]], sections: dict[str, Any] | None = None) -> str:
    header = "# Imported from CSV by 'python -m bot intents import'. Check it: python -m bot intents check\n"
    data: dict[str, Any] = {key: sections[key] for key in SECTION_ORDER if sections and key in sections}
    return header + dump_yaml({**data, "intents": intents})
