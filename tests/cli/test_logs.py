"""``BOT_LOG_FORMAT=json``: every line ``python -m bot run`` writes to stderr is one JSON object."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.logs import JsonFormatter, SettingError, settings
from bot.storage import Database

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "BOT_DATABASE": str(tmp_path / "bot.db"),
        "BOT_INTENTS": str(ROOT / "tests" / "service" / "intents"),
        "BOT_WEB_PORT": "0",
        **env,
    }
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environment,
    )


async def _interrupted_turn(path: Path) -> None:
    """A message stored but never answered, as a crash leaves it: the next start recovers it and logs so."""
    async with await Database.open(path) as db:
        customer = await db.upsert_customer("web", "v1", "Kim", "de")
        await db.record_inbound(
            customer.id,
            text="Hallo",
            attachment=None,
            payload=None,
            channel_message_id=None,
            received_at=datetime.now(UTC),
        )


def test_run_writes_one_json_object_per_line(tmp_path: Path) -> None:
    asyncio.run(_interrupted_turn(tmp_path / "bot.db"))
    process = _start(tmp_path, BOT_LOG_FORMAT="json", BOT_LOG_LEVEL="INFO")
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "Ctrl+C stops" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, "".join(lines) + rest
    records = [json.loads(line) for line in [*lines, *rest.splitlines(keepends=True)] if line.strip()]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert all(record["time"].endswith("+00:00") for record in records)
    messages = [record["message"] for record in records]
    assert any(m.startswith("the chat widget's sample page: http://127.0.0.1:") for m in messages)
    assert messages[-1] == "stopped"
    assert {record["logger"] for record in records if record["message"] == "stopped"} == {"carebot"}
    recovered = [r for r in records if r["message"] == "recovered 1 interrupted turn(s)"]
    assert [(r["level"], r["logger"]) for r in recovered] == [("INFO", "bot.service.engine")]


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("BOT_LOG_FORMAT", "xml", "error: BOT_LOG_FORMAT: 'xml' is not one of plain, json"),
        (
            "BOT_LOG_LEVEL",
            "loud",
            "error: BOT_LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
    ],
)
def test_a_bad_logging_setting_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, line: str
) -> None:
    process = _start(tmp_path, **{variable: value})
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip() == line


def test_settings_default_to_plain_warning_and_accept_any_case() -> None:
    assert settings(None, None) == ("WARNING", "plain")
    assert settings(" info ", "JSON") == ("INFO", "json")
    with pytest.raises(SettingError, match="BOT_LOG_FORMAT: 'yaml' is not one of plain, json"):
        settings("INFO", "yaml")


def test_json_records_carry_extra_ids_and_the_traceback() -> None:
    logger = logging.getLogger("bot.test")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord(
            "bot.test",
            logging.ERROR,
            __file__,
            1,
            "outbox row %s not delivered",
            (7,),
            sys.exc_info(),
            extra={"outbox_id": 7, "ticket": object()},
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "outbox row 7 not delivered" and entry["level"] == "ERROR"
    assert entry["outbox_id"] == 7 and entry["ticket"].startswith("<object object")
    assert entry["exc"].startswith("Traceback") and "ValueError: boom" in entry["exc"]
    assert "\n" not in JsonFormatter().format(record)
