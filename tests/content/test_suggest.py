"""``intents misses``/``suggest`` on a database written by the real bot (``python -m bot chat``)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.content.suggest import (
    Group,
    find_misses,
    format_misses,
    group_misses,
    parse_since,
    read_messages,
    suggestions_yaml,
)
from tests.content.conftest import DEFAULTS, GOOD

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = {
    # Two misses in a row hand the customer to a human; what they write then goes to that human.
    "ana": (
        "de",
        ["wie ist das wetter auf dem mars", "wetter mars morgen", "noch eine frage an den menschen"],
    ),
    "ben": ("de", ["Rechnung herunterladen", "wetter auf dem mars bitte"]),
    "cem": ("en", ["router shows a red light"]),
}


def _chat(database: Path, user: str, language: str, lines: list[str]) -> None:
    env = {**os.environ, "BOT_DATABASE": str(database), "BOT_INTENTS": str(GOOD), "BOT_LOG_LEVEL": "ERROR"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", user, "--language", language],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=database.parent,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suggest") / "bot.db"
    for user, (language, lines) in CONVERSATIONS.items():
        _chat(path, user, language, lines)
    return path


@pytest.fixture(scope="module")
def brain() -> Brain:
    return Brain.build(load_folder(GOOD, defaults=DEFAULTS).content)


def test_parse_since() -> None:
    assert parse_since("7d") == timedelta(days=7)
    assert parse_since(" 12h ") == timedelta(hours=12)
    assert parse_since("2w") == timedelta(weeks=2)
    with pytest.raises(ValueError, match=r"e\.g\. 12h"):
        parse_since("seven days")


def test_reads_what_the_bot_handled_itself(database: Path) -> None:
    stored = read_messages(database, datetime.now(UTC) - timedelta(days=1))
    texts = [m.text for m in stored]
    assert "noch eine frage an den menschen" not in texts  # written to a human, not to the bot
    assert texts == [
        "wie ist das wetter auf dem mars",
        "wetter mars morgen",
        "Rechnung herunterladen",
        "wetter auf dem mars bitte",
        "router shows a red light",
    ]
    assert stored[1].reason == "unmatched" and stored[0].reason is None
    assert stored[2].best is not None and stored[2].best[0] == "invoice_copy"
    assert read_messages(database, datetime.now(UTC) + timedelta(minutes=1)) == []


def test_the_database_is_opened_read_only(database: Path) -> None:
    before = database.stat().st_mtime_ns
    read_messages(database, datetime.now(UTC) - timedelta(days=1))
    assert database.stat().st_mtime_ns == before
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] > 0


def test_misses_are_judged_by_the_current_folder(database: Path, brain: Brain) -> None:
    misses = find_misses(read_messages(database, datetime.now(UTC) - timedelta(days=1)), brain)
    assert [m.message.text for m in misses] == [
        "wie ist das wetter auf dem mars",
        "wetter mars morgen",
        "wetter auf dem mars bitte",
        "router shows a red light",
    ]
    assert all(m.now == "not_understood" and m.still_missed for m in misses)
    lines = format_misses(misses)
    assert len(lines) == 4
    [first] = [line for line in lines if "'wie ist das wetter auf dem mars'" in line]
    [second] = [line for line in lines if "'wetter mars morgen'" in line]
    assert "(then: not understood, best " in first
    assert "(then: handed to a human (unmatched), best " in second


def test_similar_misses_become_one_new_intent_that_loads_once_answered(
    database: Path, brain: Brain, tmp_path: Path
) -> None:
    misses = find_misses(read_messages(database, datetime.now(UTC) - timedelta(days=1)), brain)
    groups = group_misses(misses)
    assert [(g.language, g.size) for g in groups] == [("de", 3), ("en", 1)]
    content = brain.content
    text = suggestions_yaml(groups, content)
    assert "# 3 message(s), 3 different, language de" in text
    proposals = [yaml.safe_load(block) for block in text.split("\n\n") if block.strip()]
    intent = proposals[0][0]
    assert intent["id"] == "new_wetter_mars"
    assert sorted(intent["examples"]["de"]) == sorted(
        ["wie ist das wetter auf dem mars", "wetter mars morgen", "wetter auf dem mars bitte"]
    )
    folder = tmp_path / "intents"
    (folder).mkdir()
    for name in ("settings.yaml", "messages.yaml"):
        (folder / name).write_bytes((GOOD / name).read_bytes())
    intent["title"] = {"de": "Wetter", "en": "Weather"}
    intent["answers"] = {"de": ["Zum Wetter kann ich nichts sagen."], "en": ["I cannot tell the weather."]}
    (folder / "weather.yaml").write_text(yaml.safe_dump({"intents": [intent]}, allow_unicode=True))
    assert load_folder(folder, defaults=DEFAULTS).content.intent("new_wetter_mars") is not None


def test_a_group_near_an_intent_proposes_examples_for_it(brain: Brain) -> None:
    group = Group("de")
    group.texts.update({"Rechnung als PDF bitte": 2, "no": 1})
    group.nearest = ("invoice_copy", 61.0)
    text = suggestions_yaml([group], brain.content)
    assert "nearest intent invoice_copy, mean score 61" in text
    assert "add under invoice_copy (" in text and "billing.yaml:2) -> examples -> de:" in text
    assert "        - Rechnung als PDF bitte\n        - 'no'" in text  # pasteable, and 'no' stays a word


def test_cli_misses_and_suggest(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intents", "misses", "--database", str(database), str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert "4 missed message(s) since 7d; 4 still not understood" in out
    assert main(["intents", "suggest", "--since", "1d", "--database", str(database), str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 2 group(s)") and "- id: new_wetter_mars" in out


def test_cli_without_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intents", "suggest", "--database", str(tmp_path / "none.db"), str(GOOD)]) == 1
    assert "no database at" in capsys.readouterr().err
    assert main(["intents", "misses", "--since", "forever", str(GOOD)]) == 2


LONG = "Ich habe eine Frage zum Wetter auf dem Mars und zu den Sternen. " * 160


@pytest.fixture(scope="module")
def clarified(tmp_path_factory: pytest.TempPathFactory, brain: Brain) -> Path:
    """A near miss that got "did you mean", and a 10,000-character message."""
    assert brain.first_turn_outcome("meine rechnung bitte", "de") == "clarify"  # precondition of the test
    path = tmp_path_factory.mktemp("clarified") / "bot.db"
    _chat(path, "dan", "de", ["meine rechnung bitte"])
    _chat(path, "eve", "de", [LONG])
    return path


def test_a_did_you_mean_shows_as_such_and_long_messages_are_cut(clarified: Path, brain: Brain) -> None:
    stored = read_messages(clarified, datetime.now(UTC) - timedelta(days=1))
    assert [(m.text[:20], m.then) for m in stored] == [
        ("meine rechnung bitte", "asked 'did you mean'"),
        (LONG[:20], "not understood"),
    ]
    lines = format_misses(find_misses(stored, brain))
    [clarify] = [line for line in lines if "meine rechnung bitte" in line]
    assert "(then: asked 'did you mean', best invoice_copy " in clarify and "now: clarify)" in clarify
    [long] = [line for line in lines if "Mars" in line]
    assert len(long) < 320
    assert f"… ({len(LONG.strip())} characters)'" in long
    assert f"{LONG[:100]}" in long


def test_long_messages_are_not_proposed_as_examples(brain: Brain) -> None:
    group = Group("de")
    group.texts.update({LONG: 1, "wetter auf dem mars": 1})
    text = suggestions_yaml([group], brain.content)
    assert "# 1 message(s) longer than 200 characters left out as examples" in text
    assert LONG not in text and "- wetter auf dem mars" in text
    assert max(len(line) for line in text.splitlines()) < 200


def test_a_far_nearest_intent_gets_a_new_intent_not_examples(brain: Brain) -> None:
    # The good folder: min_score 75, suggest_band 15 -> examples are proposed from 60 on.
    group = Group("en")
    group.texts.update({"more data please": 1})
    group.nearest = ("invoice_copy", 52.0)
    text = suggestions_yaml([group], brain.content)
    assert "add under invoice_copy" not in text
    assert "nearest intent invoice_copy only scores 52 (threshold 75, 'did you mean' from 60)" in text
    assert "# A new intent?" in text and "- id: new_please_data" in text
