"""``python -m bot chat`` as a customer would use it, in a subprocess with a real database file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bot(tmp_path: Path, args: list[str], lines: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot ARGS`` as a customer would, typing ``lines``, with no Telegram token."""
    env = {**os.environ, "BOT_DATABASE": str(tmp_path / "bot.db"), "BOT_INTENTS": str(ROOT / "intents")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def _chat(tmp_path: Path, lines: list[str], *extra: str) -> str:
    result = _bot(tmp_path, ["chat", "--user", "kim", "--name", "Kim", *extra], lines)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_issue_acceptance_conversation(tmp_path: Path) -> None:
    out = _chat(
        tmp_path,
        [
            "wo finde ich meine rechnug",
            "where can I download my bill",
            "Ich will sofort einen Mitarbeiter sprechen!!!",
        ],
        "--explain",
    )
    assert "· invoice_copy" in out
    assert out.count("· invoice_copy") == 2
    assert "· escalate" in out
    with sqlite3.connect(tmp_path / "bot.db") as db:
        tickets = db.execute("SELECT id, reason, status FROM tickets").fetchall()
    assert len(tickets) == 1
    ticket_id, reason, status = tickets[0]
    assert reason in {"requested", "angry"} and status == "open"
    assert str(ticket_id) in out.split("· escalate")[-1]


def test_broken_folder_is_reported_with_lines_and_exit_1(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.yaml").write_text("intents:\n  - id: Bad Id\n    answers: {de: [x]}\n", encoding="utf-8")
    result = _bot(tmp_path, ["chat", "--intents", str(folder)], [])
    assert result.returncode == 1
    assert "a.yaml:2" in result.stderr
