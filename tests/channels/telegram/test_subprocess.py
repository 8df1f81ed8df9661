"""The real ``python -m bot run``, polling a fake Bot API over HTTP on localhost, as in production."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from .conftest import FIXTURES
from .fake_bot_api import STAFF_CHAT_ID, TOKEN, FakeServer, FakeTelegram

ROOT = Path(__file__).resolve().parents[3]


async def test_python_m_bot_run_serves_customers_and_staff_by_polling(tmp_path: Path) -> None:
    fake = FakeTelegram()
    with FakeServer(fake).running() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_STAFF_CHAT_ID=str(STAFF_CHAT_ID),
            TELEGRAM_API_BASE_URL=server.url,
            BOT_WEB_PORT="0",  # any free port: 8080 may be taken on a shared machine
            BOT_DATABASE=str(tmp_path / "bot.db"),
            BOT_INTENTS=str(FIXTURES / "intents"),
            BOT_LOG_LEVEL="INFO",
            BOT_HEARTBEAT=str(tmp_path / "heartbeat"),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE
        )
        try:
            anna = fake.user(4711, "Anna", "de")
            fake.private_message(anna, "Wo finde ich meine Rechnung?")
            await fake.wait_for(lambda: any("Kundencenter" in t for t in fake.texts(4711)), within=20)
            fake.private_message(anna, "/human")
            (topic,) = await fake.wait_for(fake.topics, within=10)
            card = (await fake.wait_for(lambda: fake.sent(STAFF_CHAT_ID, topic.thread_id), within=10))[0]
            assert "Ticket #1" in card["text"]
            fake.set_member(501, "member")
            fake.group_message(
                fake.user(501, "Kim", "en"), "Ich kümmere mich darum.", thread_id=topic.thread_id
            )
            await fake.wait_for(
                lambda: any("Ich kümmere mich darum." in t for t in fake.texts(4711)), within=10
            )
            await fake.wait_for((tmp_path / "heartbeat").exists)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                _, raw = await asyncio.wait_for(process.communicate(), timeout=20)
            except TimeoutError:
                process.kill()
                _, raw = await process.communicate()
    stderr = raw.decode()
    assert process.returncode == 0, stderr
    assert TOKEN not in stderr
    assert "starting on Telegram (polling)" in stderr


async def test_sigterm_while_the_intents_folder_loads_stops_at_once(tmp_path: Path) -> None:
    """A big folder takes seconds to load; a SIGTERM meanwhile must stop the bot cleanly without waiting for
    the load (main finished loading first, then started on Telegram, and only then noticed the stop)."""
    import shutil

    folder = tmp_path / "intents"
    shutil.copytree(FIXTURES / "intents", folder)
    with (folder / "big.yaml").open("w", encoding="utf-8") as out:  # ~4 MB: well over a second to load
        out.write("variables:\n")
        out.writelines(f'  v{i}: "text number {i} {"x" * 40}"\n' for i in range(60_000))
    fake = FakeTelegram()
    with FakeServer(fake).running() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_STAFF_CHAT_ID=str(STAFF_CHAT_ID),
            TELEGRAM_API_BASE_URL=server.url,
            BOT_WEB_PORT="0",  # any free port: 8080 may be taken on a shared machine
            BOT_DATABASE=str(tmp_path / "bot.db"),
            BOT_INTENTS=str(folder),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE
        )
        assert process.stderr is not None
        first = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        assert b"loading the intents folder" in first  # printed just before the folder starts loading
        process.send_signal(signal.SIGTERM)
        try:
            _, rest = await asyncio.wait_for(process.communicate(), timeout=60)  # a guard, not a measure
        except TimeoutError:
            process.kill()
            _, rest = await process.communicate()
    stderr = (first + rest).decode()
    assert process.returncode == 0, stderr
    assert "carebot: stopped" in stderr
    assert not fake.calls, [c.method for c in fake.calls]  # it never started on Telegram
