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


def test_an_unreachable_postgresql_is_one_line_naming_it_without_the_password(tmp_path: Path) -> None:
    process = _start(tmp_path, "run", BOT_DATABASE="postgresql://carebot:sekret@127.0.0.1:1/carebot")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: BOT_DATABASE: cannot connect to postgresql://127.0.0.1:1/carebot: ")
    assert "Traceback" not in err and "sekret" not in err


def test_a_malformed_origin_is_refused_at_start(tmp_path: Path) -> None:
    process = _start(tmp_path, BOT_WEB_ORIGINS="shop.example")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert (
        err.strip() == "error: BOT_WEB_ORIGINS: 'shop.example' is not an origin like https://www.example.com"
    )


def test_a_cli_reply_from_another_process_reaches_the_widget_live(tmp_path: Path) -> None:
    """``python -m bot queue reply`` beside the running bot: the bot's web outbox picks the reply up."""
    import asyncio
    import json

    import websockets

    process = _start(tmp_path)
    try:
        lines = _lines_until(process, "Ctrl+C stops")
        url = next(line.split("page: ")[1].split()[0] for line in lines if "sample page: " in line).rstrip(
            "/"
        )
        request = urllib.request.Request(url + "/widget/token", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.loads(response.read())["token"]

        async def visit() -> str:
            async with websockets.connect(url.replace("http", "ws") + "/widget/ws") as ws:

                async def until(wanted: object) -> dict[str, object]:
                    while True:
                        frame: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if callable(wanted) and wanted(frame):
                            return frame

                await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 0, "lang": "de"}))
                await ws.send(json.dumps({"type": "message", "id": "c1", "text": "/human"}))
                status = await until(lambda f: f["type"] == "status" and f["ticket"] is not None)
                ticket = status["ticket"]
                assert isinstance(ticket, dict)
                reply = await asyncio.to_thread(
                    subprocess.run,
                    [
                        sys.executable,
                        "-m",
                        "bot",
                        "queue",
                        "reply",
                        str(ticket["id"]),
                        "Hallo vom CLI",
                        "--as",
                        "alice",
                    ],
                    capture_output=True,
                    text=True,
                    cwd=tmp_path,
                    env={
                        **os.environ,
                        "BOT_DATABASE": str(tmp_path / "bot.db"),
                        "BOT_INTENTS": str(ROOT / "intents"),
                    },
                    timeout=120,
                )
                assert reply.returncode == 0, reply.stderr
                frame = await until(lambda f: f["type"] == "message" and f["author"] == "agent")
                return str(frame["text"])

        assert "Hallo vom CLI" in asyncio.run(visit())
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
