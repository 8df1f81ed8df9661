"""``python -m bot run``: configuration errors, the terminal chat beside it, logs without the token."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.channels.telegram.app import RedactToken

from .fake_bot_api import TOKEN

ROOT = Path(__file__).resolve().parents[3]


def _run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**clean, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TELEGRAM_BOT_TOKEN": TOKEN}, "TELEGRAM_STAFF_CHAT_ID"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_STAFF_CHAT_ID": "-100x"}, "TELEGRAM_STAFF_CHAT_ID"),
        ({"TELEGRAM_BOT_TOKEN": "oops"}, "TELEGRAM_BOT_TOKEN"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(env: dict[str, str], variable: str) -> None:
    result = _run(env, "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert TOKEN not in result.stderr


def test_an_unusable_database_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    intents = Path(__file__).parent / "fixtures" / "intents"
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_STAFF_CHAT_ID": "-100123",
        "BOT_DATABASE": str(blocker / "bot.db"),
        "BOT_INTENTS": str(intents),
    }
    result = _run(env, "run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: BOT_DATABASE: cannot open")


def test_without_a_token_the_terminal_chat_is_its_own_command(tmp_path: Path) -> None:
    """``python -m bot`` serves the web chat now (tests/cli/test_run.py); the terminal chat is ``chat``."""
    intents = Path(__file__).parent / "fixtures" / "intents"
    env = {"BOT_DATABASE": str(tmp_path / "bot.db"), "BOT_INTENTS": str(intents)}
    result = _run(env, "chat", stdin="/quit\n")
    assert result.returncode == 0, result.stderr
    assert "assist" in result.stdout.lower()


def test_log_records_never_carry_the_token() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactToken(TOKEN))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getUpdates failed", TOKEN)
        try:
            raise RuntimeError(f"connect to https://api.telegram.org/bot{TOKEN}/getMe")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    assert TOKEN not in stream.getvalue()
    assert stream.getvalue().count("<token>") == 2
