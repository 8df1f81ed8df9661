"""How staff surfaces word the bot's analysis and ticket events (shared by `queue show` and the inbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.service.describe import describe_analysis, describe_event, when
from bot.storage import Event

MOMENT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def test_the_analysis_reads_as_one_line() -> None:
    raw = json.dumps(
        {
            "intents": [{"intent": "invoice_copy", "score": 91.4}, {"intent": "billing", "score": 60}],
            "language": "de",
            "anger": 72,
            "anger_reasons": ["capitals", "Frechheit"],
            "wants_human": True,
        }
    )
    assert describe_analysis(raw) == (
        "invoice_copy 91, billing 60; language de; anger 72 (capitals; Frechheit); asked for a human"
    )
    assert describe_analysis(json.dumps({"intents": []})) == "no intent matched"
    assert describe_analysis(None) == ""
    assert describe_analysis("not json") == "not json"  # shown as stored rather than lost


def test_events_read_as_words() -> None:
    event = Event(1, 3, "bob", "claimed", {"previous_assignee": "alice", "until": MOMENT.isoformat()}, MOMENT)
    assert describe_event(event) == "was with alice, until 2026-12-05 09:30 UTC"
    assert describe_event(Event(2, 3, "alice", "reply", {"first": True, "outbox_id": 7}, MOMENT)) == (
        "first response, outbox 7"
    )
    assert when(None) == "–" and when(MOMENT) == "2026-12-05 09:30"
