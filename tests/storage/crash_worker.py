"""The bot's message loop as a separate process, for tests/storage/test_crash.py to kill at random points.

It reads customer messages from ``inputs.jsonl`` starting after the last acknowledged one (like a Telegram
``getUpdates`` offset: a message is acknowledged only after ``handle`` returned, so a killed process gets it
again and the engine must recognise the redelivery). Delivery appends to ``delivered.jsonl`` with
``os.write`` (in the kernel at once, so a SIGKILL cannot lose a line the channel "sent").

Usage: python -m tests.storage.crash_worker DB INTENTS WORKDIR
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from bot.channels.base import Inbound, Outbound
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.storage import Database


class FileChannel:
    name = "terminal"

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def send(self, user_id: str, message: Outbound) -> str | None:
        channel_id = uuid.uuid4().hex
        line = json.dumps({"to": user_id, "text": message.text, "id": channel_id}, ensure_ascii=False)
        os.write(self.fd, (line + "\n").encode())
        return channel_id


def _acknowledged(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


def _acknowledge(path: Path, count: int) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(str(count))
    os.replace(temporary, path)


async def main(db_path: Path, intents: Path, workdir: Path) -> None:
    inputs = [json.loads(line) for line in (workdir / "inputs.jsonl").read_text().splitlines()]
    offset_file = workdir / "offset"
    brain = Brain.build(load_folder(intents).content)
    async with await Database.open(db_path) as db:
        service = ConversationService(db, brain, notify_staff=False)
        sender = OutboxSender(db, {"terminal": FileChannel(workdir / "delivered.jsonl")})
        recovered = len(await service.recover())
        resent = await sender.run_once()
        os.write(1, f"ready recovered={recovered} delivered={resent}\n".encode())
        for index in range(_acknowledged(offset_file), len(inputs)):
            item = inputs[index]
            await service.handle(
                Inbound(channel="terminal", user_id=item["user"], text=item["text"], message_id=str(index))
            )
            _acknowledge(offset_file, index + 1)
            await sender.run_once()
        await sender.run_once()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
