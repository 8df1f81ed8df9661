"""Live updates: the event stream sees what other connections and other processes write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.channels.web.inbox.live import Cursor
from bot.storage import Database
from tests.channels.web.inbox.conftest import Desk

ROOT = Path(__file__).resolve().parents[4]


def _events(text: str) -> list[tuple[str, str, dict[str, object]]]:
    """``(event, id, data)`` of each event in a stream's text."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], fields["id"], json.loads(fields["data"])))
    return found


def test_a_new_stream_says_hello_with_a_cursor(desk: Desk) -> None:
    desk.account()
    response = desk.client.get("/api/events?lifetime=0", headers=desk.token())
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: 2000\n\n")
    [(kind, cursor, data)] = _events(response.text)
    assert kind == "hello" and data == {"agent": "Alice"}
    assert Cursor.parse(cursor) is not None


def test_resuming_reports_tickets_and_messages_written_by_another_connection(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    [(_, cursor, _)] = _events(desk.client.get("/api/events?lifetime=0", headers=auth).text)
    ticket = desk.escalate()  # the engine writes through the desk's connection ...

    async def another_process_writes() -> None:  # ... and a second connection, as another process would
        async with await Database.open(desk.db.path) as other:
            await other.add_event(ticket, "carl", "looked", None, desk.clock())

    desk.run(another_process_writes)
    response = desk.client.get("/api/events?lifetime=0", headers={**auth, "Last-Event-ID": cursor})
    [(kind, new_cursor, data)] = _events(response.text)
    assert kind == "change" and new_cursor != cursor
    assert data["new_tickets"] == [ticket]
    assert data["customer_messages"] == [ticket]
    assert data["tickets"] == [ticket]
    quiet = desk.client.get("/api/events?lifetime=0", headers={**auth, "Last-Event-ID": new_cursor})
    assert _events(quiet.text) == []
    assert desk.client.get("/api/events?lifetime=soon", headers=auth).status_code == 422


def test_an_action_from_the_command_line_shows_up_in_the_stream(desk: Desk, tmp_path: Path) -> None:
    desk.account()
    auth = desk.token()
    ticket = desk.escalate()
    [(_, cursor, _)] = _events(desk.client.get("/api/events?lifetime=0", headers=auth).text)
    env = {**os.environ, "BOT_DATABASE": str(desk.db.path), "BOT_STAFF_NAME": "carl"}
    env.pop("TELEGRAM_STAFF_CHAT_ID", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "queue", "note", str(ticket), "called the customer"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    response = desk.client.get("/api/events?lifetime=0", headers={**auth, "Last-Event-ID": cursor})
    [(kind, _, data)] = _events(response.text)
    assert kind == "change" and data["tickets"] == [ticket] and data["new_tickets"] == []
    detail = desk.client.get(f"/api/tickets/{ticket}", headers=auth).json()
    assert detail["messages"][-1]["text"] == "called the customer"
    assert detail["messages"][-1]["agent"] == "carl"


def test_cursors_from_outside_are_parsed_safely() -> None:
    assert Cursor.parse("1.2.3.2026-01-01T00:00:00+00:00") == Cursor(1, 2, 3, "2026-01-01T00:00:00+00:00")
    for bad in ("", "1.2", "a.b.c.d", "9" * 30 + ".1.1.x", "-1.2.3.x"):
        assert Cursor.parse(bad) is None
