"""The entry point turns operator mistakes into one clear line instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BOT_DATABASE": str(tmp_path / "bot.db"), **env},
        timeout=120,
    )


def test_unknown_log_level_is_named(tmp_path: Path) -> None:
    result = _run(["intents", "check"], tmp_path, BOT_LOG_LEVEL="loud")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: BOT_LOG_LEVEL: 'LOUD'")


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bot.db").write_text("not sqlite at all, just text that is long enough " * 20)
    result = _run(["queue", "list"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bot.db" in result.stderr


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    pipeline = f"{sys.executable} -m bot intents export --csv - | head -n 1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.stdout.startswith("intent,")
    assert "BrokenPipeError" not in result.stderr
    assert result.returncode == 0, result.stderr
