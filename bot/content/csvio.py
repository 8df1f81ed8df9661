"""CSV export and import of the intents, for editors who review or translate in a spreadsheet.

One row per text: ``intent, field, language, text`` with ``field`` one of ``title``, ``example``,
``not_example``, ``answer``. The intent's other keys travel as rows without a language (``min_score``,
``follow_up``, ``escalate``, ``enabled``, ``tag``) so that export followed by import loses nothing.

Import writes YAML that the strict loader reads back to the same texts: PyYAML's dumper quotes every text
that YAML would otherwise turn into something else (``no``, ``0123``, ``8:30``), and lists are written one
item per line, where a ``?`` is harmless.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bot.content.problems import ContentError, Problem
from bot.content.yamlio import dump_yaml
from bot.core.model import Intent

COLUMNS = ("intent", "field", "language", "text")
TEXT_FIELDS = {"title": "title", "example": "examples", "not_example": "not_examples", "answer": "answers"}
"""CSV field -> YAML key for per-language texts."""
META_FIELDS = ("min_score", "follow_up", "escalate", "enabled", "tag")
ENCODING = "utf-8-sig"
"""With a byte-order mark, so spreadsheet programs recognise UTF-8 (umlauts) when opening the file."""


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
        if not intent.enabled:
            yield row("enabled", "", "false")
        for tag in intent.tags:
            yield row("tag", "", tag)


def write_csv(intents: Iterable[Intent], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(intents):
        writer.writerow(row)
        count += 1
    return count


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Intents as YAML-ready mappings, in the order they first appear; every bad row is reported at once."""
    shown = str(path)
    text = path.read_text(encoding=ENCODING)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ContentError(
            [
                Problem(
                    shown,
                    1,
                    "header",
                    f"missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}",
                )
            ]
        )
    intents: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for row in reader:
        line = reader.line_num
        intent_id = (row.get("intent") or "").strip()
        field = (row.get("field") or "").strip()
        language = (row.get("language") or "").strip()
        value = row.get("text") or ""
        if not intent_id:
            problems.append(Problem(shown, line, "intent", "the intent column is empty"))
            continue
        intent = intents.setdefault(intent_id, {"id": intent_id})
        if field in TEXT_FIELDS:
            if not language:
                problems.append(Problem(shown, line, intent_id, f"a {field} needs a language (de, en, ...)"))
                continue
            key = TEXT_FIELDS[field]
            if key == "title":
                intent.setdefault("title", {})[language] = value
            else:
                intent.setdefault(key, {}).setdefault(language, []).append(value)
        elif field == "min_score":
            try:
                score = float(value)
            except ValueError:
                problems.append(Problem(shown, line, intent_id, f"min_score must be a number, not {value!r}"))
                continue
            intent["min_score"] = int(score) if score.is_integer() else score
        elif field == "follow_up":
            intent.setdefault("follow_up", []).append(value.strip())
        elif field in ("escalate", "enabled"):
            if value.strip().lower() not in ("true", "false"):
                problems.append(
                    Problem(shown, line, intent_id, f"{field} must be true or false, not {value!r}")
                )
                continue
            intent[field] = value.strip().lower() == "true"
        elif field == "tag":
            intent.setdefault("tags", []).append(value)
        else:
            known = ", ".join([*TEXT_FIELDS, *META_FIELDS])
            problems.append(Problem(shown, line, intent_id, f"unknown field {field!r}; use one of {known}"))
    if problems:
        raise ContentError(problems)
    return [_ordered(intent) for intent in intents.values()]


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
)


def _ordered(intent: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order editors know from the shipped files."""
    ordered = {key: intent[key] for key in _KEY_ORDER if key in intent}
    ordered.update({key: value for key, value in intent.items() if key not in ordered})
    return ordered


def intents_yaml(intents: list[dict[str, Any]]) -> str:
    header = "# Imported from CSV by 'python -m bot intents import'. Check it: python -m bot intents check\n"
    return header + dump_yaml({"intents": intents})
