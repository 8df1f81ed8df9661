"""``python -m bot`` serves the web chat (and says Telegram is off without a token), stops cleanly on signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "BOT_DATABASE": str(tmp_path / "bot.db"),
        "BOT_INTENTS": str(ROOT / "tests" / "service" / "intents"),
        "BOT_WEB_PORT": "0",
        **env,
    }
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environment,
    )


def _lines_until(process: subprocess.Popen[str], needle: str) -> list[str]:
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError("".join(lines))


def test_the_first_command_serves_the_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = _start(tmp_path, BOT_HEARTBEAT=str(tmp_path / "heartbeat"))
    try:
        lines = _lines_until(process, "Ctrl+C stops")
        text = "".join(lines)
        assert "Telegram is off because TELEGRAM_BOT_TOKEN is not set" in text
        url = next(line.split("page: ")[1].split()[0] for line in lines if "sample page: " in line)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=30) as page:
            body = page.read().decode()
        assert '<script src="/widget.js" defer' in body
        with urllib.request.urlopen(url + "widget.js", timeout=30) as script:
            assert b'"send": "Senden"' in script.read()
        for _ in range(100):  # the container's health check reads this file
            if (tmp_path / "heartbeat").exists():
                break
            time.sleep(0.1)
        assert (tmp_path / "heartbeat").exists()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert "carebot: stopped" in err
    assert (tmp_path / "bot.db").exists()


def test_a_port_in_use_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _start(tmp_path, "run", BOT_WEB_PORT=str(taken.getsockname()[1]))
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.strip().splitlines()[-1].startswith("error: BOT_WEB_PORT: cannot listen on 127.0.0.1:")
    assert "Traceback" not in err


def test_a_malformed_origin_is_refused_at_start(tmp_path: Path) -> None:
    process = _start(tmp_path, BOT_WEB_ORIGINS="shop.example")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert (
        err.strip() == "error: BOT_WEB_ORIGINS: 'shop.example' is not an origin like https://www.example.com"
    )
