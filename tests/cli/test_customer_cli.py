"""`python -m bot customer export|forget`: the right of access and the right to erasure."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.model import Priority, Reason
from bot.storage import Database


async def _seed(path: Path) -> int:
    async with await Database.open(path) as db:
        customer = await db.upsert_customer("telegram", "4242", "Kim Berger", "de")
        message = await db.record_inbound(
            customer.id,
            text="Meine Kundennummer ist 77-1234",
            attachment=None,
            payload=None,
            channel_message_id="15",
            received_at=datetime.now(UTC),
        )
        await db.create_ticket(
            customer.id,
            reason=Reason.UNMATCHED,
            priority=Priority.NORMAL,
            anger=0,
            anger_reasons=(),
            summary="Kundennummer 77-1234",
            first_message_id=message.id,
            now=datetime.now(UTC),
        )
        return customer.id


@pytest.fixture
def customer_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    path = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    return asyncio.run(_seed(path))


def test_export_to_stdout_and_file(
    customer_id: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["customer", "export", str(customer_id)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["customer"]["display_name"] == "Kim Berger"
    assert data["messages"][0]["text"] == "Meine Kundennummer ist 77-1234"
    assert data["tickets"][0]["summary"] == "Kundennummer 77-1234"
    target = tmp_path / "export.json"
    assert main(["customer", "export", "telegram:4242", "-o", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == data
    assert main(["customer", "export", "telegram:1"]) == 1


def test_forget_needs_yes_then_erases(customer_id: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["customer", "forget", str(customer_id)]) == 1
    assert "--yes" in capsys.readouterr().err
    assert main(["customer", "forget", str(customer_id), "--yes", "--as", "dpo"]) == 0
    assert "forgotten" in capsys.readouterr().out
    assert main(["customer", "export", str(customer_id)]) == 0
    text = capsys.readouterr().out
    for secret in ("Kim Berger", "77-1234", "4242"):
        assert secret not in text
    data = json.loads(text)
    assert data["tickets"][0]["priority"] == "normal"  # anonymous statistics stay
    assert data["customer"]["forgotten_at"] is not None


def test_forget_twice_says_it_was_already_forgotten(
    customer_id: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["customer", "forget", str(customer_id), "--yes"]) == 0
    assert capsys.readouterr().out == f"Customer #{customer_id} forgotten; anonymous statistics kept.\n"
    assert main(["customer", "forget", f"#{customer_id}", "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Customer #{customer_id} was already forgotten on ") and "nothing to do" in out


def test_database_option_has_both_spellings(
    customer_id: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = os.environ["BOT_DATABASE"]
    monkeypatch.delenv("BOT_DATABASE")
    for option in ("--database", "--db"):
        assert main(["customer", "export", str(customer_id), option, path]) == 0
        assert json.loads(capsys.readouterr().out)["customer"]["id"] == customer_id


def test_help_is_for_staff_not_developers(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["customer", "--help"], ["customer", "forget", "--help"], ["customer", "export", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "``" not in text and ":class:" not in text
    with pytest.raises(SystemExit):
        main(["customer", "--help"])
    assert "anonymous statistics" in capsys.readouterr().out


IBAN = "DE89370400440532013000"


def test_forget_leaves_no_erased_value_in_the_database_file_or_its_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main erased the rows but the WAL (and free space in the file) still held every value while the bot
    ran. The bot's connection stays open here, as it would beside the CLI."""
    import sqlite3

    path = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_DATABASE", str(path))

    async def seed() -> int:
        async with await Database.open(path) as db:
            customer = await db.upsert_customer("telegram", "98765", "Kim Geheimname", "de")
            for n in range(30):  # enough rows and an index to spread over several pages
                message = await db.record_inbound(
                    customer.id,
                    text=f"Bitte buchen Sie von {IBAN} ab ({n}) " + "x" * 300,
                    attachment=None,
                    payload=None,
                    channel_message_id=str(100 + n),
                    received_at=datetime.now(UTC),
                )
            ticket = await db.create_ticket(
                customer.id,
                reason=Reason.UNMATCHED,
                priority=Priority.NORMAL,
                anger=0,
                anger_reasons=(),
                summary=f"IBAN {IBAN}",
                first_message_id=message.id,
                now=datetime.now(UTC),
            )
            await db.enqueue_staff("customer_message", ticket.id, {"text": IBAN}, datetime.now(UTC))
            return customer.id

    customer = asyncio.run(seed())
    bot = sqlite3.connect(path)  # the running bot's connection, idle between transactions
    try:
        bot.execute("PRAGMA journal_mode").fetchone()
        wal = path.with_name("bot.db-wal")
        assert IBAN.encode() in path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert main(["customer", "forget", str(customer), "--yes", "--as", "dpo"]) == 0
        for secret in (IBAN, "Geheimname", "98765"):
            assert secret.encode() not in path.read_bytes(), secret
            assert not wal.exists() or secret.encode() not in wal.read_bytes(), secret
        assert "forgotten" in capsys.readouterr().out
    finally:
        bot.close()


def test_forget_is_logged_and_shown_as_forgotten_not_blocked(
    customer_id: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["customer", "forget", str(customer_id), "--yes", "--as", "dpo"]) == 0
    capsys.readouterr()
    assert main(["queue", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "(forgotten)" in shown and "(blocked)" not in shown
    assert re.search(r"\bdpo +forgotten\b", shown), shown  # the event, not "dpo blocked"
    assert "blocked" not in shown.replace("BLOCKED", "")
