"""The committed JSON Schema is generated from the loader's own models, so editors' tools and the bot agree."""

from __future__ import annotations

import json
from pathlib import Path

from bot.content.schema import TOP_LEVEL_KEYS, json_schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "bot" / "content" / "intents.schema.json"


def test_committed_schema_equals_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "regenerate it: python -m bot intents schema > bot/content/intents.schema.json"
    )


def test_schema_describes_the_top_level_keys_and_forbids_others() -> None:
    schema = json.loads(json_schema_text())
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    assert schema["additionalProperties"] is False
    intent = schema["$defs"]["IntentModel"]
    assert set(intent["required"]) == {"id", "title", "examples", "answers"}
    assert intent["properties"]["id"]["pattern"] == "^[a-z0-9_]+$"
