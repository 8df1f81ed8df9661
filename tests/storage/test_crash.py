"""SIGKILL the real message loop (engine, storage, outbox) at random points; nothing may be lost.

SQLite only: it is about what a killed process leaves in the file and its WAL. A PostgreSQL server does not
die with the bot; tests/storage/test_postgresql.py ends the server's connections mid-transaction instead.

After the last restart every customer message is stored and handled, each one either got an answer or
belongs to a ticket, and every reply in the outbox reached the channel (at least once).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Wo finde ich meine Rechnung?",
    "Rechnung herunterladen",
    "Hallo",
    "Mein Internet ist seit Tagen weg, das ist eine Frechheit!!!",
    "Ich möchte mit einem Mitarbeiter sprechen",
    "Wie kann ich meinen Tarif wechseln?",
    "blubb xyz qwerty",
    "where can I download my invoice",
    "danke",
]
MESSAGES = 90
CUSTOMERS = 6
KILLS = 4


def _start(db: Path, workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_worker", str(db), str(ROOT / "intents"), str(workdir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _offset(workdir: Path) -> int:
    try:
        return int((workdir / "offset").read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    try:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql))
    finally:
        conn.close()


def test_killed_loop_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(2)
    db = tmp_path / "bot.db"
    inputs = [{"user": f"u{rng.randrange(CUSTOMERS)}", "text": rng.choice(TEXTS)} for _ in range(MESSAGES)]
    (tmp_path / "inputs.jsonl").write_text("".join(json.dumps(item) + "\n" for item in inputs))

    kills = 0
    starts: list[list[str]] = []
    for _ in range(KILLS):
        process = _start(db, tmp_path)
        assert process.stdout is not None
        ready = process.stdout.readline().decode()
        assert ready.startswith("ready"), process.stderr.read() if process.stderr else ""
        starts.append(ready.split()[1:])
        target = _offset(tmp_path) + rng.randint(1, 12)
        deadline = time.monotonic() + 30
        while _offset(tmp_path) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.02))  # land somewhere inside the next turn or delivery
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()

    final = _start(db, tmp_path)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    starts.append(out.decode().split()[1:3])
    print("restarts (recovered turns, redelivered rows):", starts[1:])
    assert kills >= KILLS - 1, "the process finished before it could be killed; make the stream longer"

    inbound = _rows(db, "SELECT * FROM messages WHERE author = 'customer' ORDER BY id")
    assert sorted(int(row["channel_message_id"]) for row in inbound) == list(range(MESSAGES))
    assert all(row["handled_at"] is not None for row in inbound)

    outbound = _rows(db, "SELECT * FROM messages WHERE author <> 'customer' ORDER BY id")
    for row in inbound:
        if row["ticket_id"] is not None:
            continue
        later = [m for m in inbound if m["customer_id"] == row["customer_id"] and m["id"] > row["id"]]
        until = later[0]["id"] if later else float("inf")
        answers = [
            m for m in outbound if m["customer_id"] == row["customer_id"] and row["id"] < m["id"] < until
        ]
        assert answers, f"message {row['channel_message_id']} ({row['text']!r}) got no answer and no ticket"

    outbox = _rows(db, "SELECT status FROM outbox WHERE channel = 'terminal'")
    assert outbox and {row["status"] for row in outbox} == {"sent"}
    delivered = [json.loads(line) for line in (tmp_path / "delivered.jsonl").read_text().splitlines()]
    delivered_ids = {line["id"] for line in delivered}
    for message in outbound:
        assert message["channel_message_id"] in delivered_ids, (
            f"reply {message['id']} never reached the channel"
        )
    assert len(delivered) >= len(outbound)  # at least once; more means a resend after a kill
