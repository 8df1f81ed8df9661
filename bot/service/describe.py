"""Staff-facing wording and small queue chores shared by every staff surface (the command line, the inbox).

They live here, below the surfaces, so that ``bot/cli`` and ``bot/channels/web/inbox`` both import them
directly: the command line starts the web app, so the inbox importing ``bot.cli`` would be circular.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.storage import Database, Event
from bot.storage.records import to_db_time


def when(moment: datetime | None) -> str:
    """A moment as staff read it everywhere: UTC, to the minute; a dash for "not yet"."""
    return "–" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def describe_event(event: Event) -> str:
    """The event's detail in words (``first response``, ``was with alice``), not JSON."""
    detail = dict(event.detail or {})
    parts: list[str] = []
    if detail.pop("first", False):
        parts.append("first response")
    previous = detail.pop("previous_assignee", None)
    if previous:
        parts.append(f"was with {previous}")
    until = detail.pop("until", None)
    if until:
        try:
            parts.append(f"until {when(datetime.fromisoformat(str(until)))} UTC")
        except ValueError:
            parts.append(f"until {until}")
    labels = {"message_id": "message", "outbox_id": "outbox", "customer_id": "customer #"}
    for key, value in sorted(detail.items()):
        if value is None or value == "" or value is False:
            continue
        label = labels.get(key, key.replace("_", " "))
        if isinstance(value, float):
            text = f"{value:.0f}"
        elif isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = str(value)
        parts.append(f"{label}{text}" if label.endswith("#") else f"{label} {text}")
    return ", ".join(parts)


def describe_analysis(raw: str | None) -> str:
    """One line from the engine's analysis JSON: top intents with scores, language, anger with reasons."""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return str(data)
    parts: list[str] = []
    intents = data.get("intents") or []
    if intents:
        parts.append(", ".join(f"{i.get('intent')} {float(i.get('score', 0)):.0f}" for i in intents[:3]))
    else:
        parts.append("no intent matched")
    if data.get("language"):
        parts.append(f"language {data['language']}")
    anger = data.get("anger")
    if anger:
        reasons = data.get("anger_reasons") or []
        parts.append(f"anger {float(anger):.0f}" + (f" ({'; '.join(map(str, reasons))})" if reasons else ""))
    if data.get("wants_human"):
        parts.append("asked for a human")
    return "; ".join(parts)


async def wake_due(db: Database, now: datetime) -> None:
    """Return snoozed tickets whose time has come to the queue, taking the write lock only if there are any.

    Listing is a read; a busy bot should not make staff wait for the write lock just to look.
    """
    async with db.snapshot() as tx:
        due = await tx.fetch_one(
            "SELECT 1 FROM tickets WHERE status = 'snoozed' AND snoozed_until <= ? LIMIT 1",
            (to_db_time(now),),
        )
    if due is not None:
        await db.wake_snoozed(now)
