"""``python -m bot chat`` as a customer would use it, in a subprocess with a real database file."""

from __future__ import annotations

import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
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


def test_a_broken_reload_is_said_once_in_the_chat_and_logged_to_a_file(tmp_path: Path) -> None:
    """Issue #13 finding 10: the reload warning appeared twice in the chat (log line + chat line)."""
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder)
    env = {**os.environ, "BOT_DATABASE": str(tmp_path / "data" / "bot.db"), "BOT_INTENTS": str(folder)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--user", "kim"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert chat.stdin is not None and chat.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in chat.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()

    def wait_for(text: str) -> None:
        while text not in lines.get(timeout=60):
            pass

    try:
        chat.stdin.write("Rechnung herunterladen\n")
        chat.stdin.flush()
        wait_for("kundencenter")
        with (folder / "billing.yaml").open("a", encoding="utf-8") as broken:
            broken.write("\n  - id: Not An Id\n")
        wait_for("has errors")
        chat.stdin.write("/quit\n")
        chat.stdin.close()
        chat.wait(timeout=60)
        reader.join(timeout=60)
        errors = chat.stderr.read() if chat.stderr else ""
    finally:
        if chat.poll() is None:
            chat.kill()
    assert chat.returncode == 0, errors
    rest = "".join(iter(lambda: "" if lines.empty() else lines.get(), ""))
    assert "has errors" not in rest  # said once (consumed above), not again
    assert "has errors" not in errors  # and not as a log line in the terminal
    assert "has errors" in (tmp_path / "data" / "chat.log").read_text(encoding="utf-8")
