"""`python -m bot staff` on a real file: accounts, passwords from stdin, tokens, clear errors."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.service.accounts import AccountService
from bot.storage import Database


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bot.db"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    return path


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _check(path: Path, name: str, password: str) -> bool:
    async def run() -> bool:
        async with await Database.open(path) as db:
            return await AccountService(db).check_password(name, password) is not None

    return asyncio.run(run())


def _token(path: Path, token: str) -> str | None:
    async def run() -> str | None:
        async with await Database.open(path) as db:
            account = await AccountService(db).check_token(token)
            return None if account is None else account.name

    return asyncio.run(run())


def test_add_creates_the_database_and_an_account(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "correct horse battery\nignored second line\n")
    assert main(["staff", "add", "Alice", "--admin", "--password-stdin"]) == 0
    assert "Account 'Alice' created (admin)" in capsys.readouterr().out
    assert _check(database, "Alice", "correct horse battery")
    assert main(["staff", "list"]) == 0
    out = capsys.readouterr().out
    assert "Alice" in out and "yes" in out


def test_refusals_are_one_clear_line(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "short\n")
    assert main(["staff", "add", "Alice", "--password-stdin"]) == 2
    assert capsys.readouterr().err == "error: the password is too short: at least 10 characters\n"
    _stdin(monkeypatch, "correct horse battery\n")
    assert main(["staff", "add", "<b>", "--password-stdin"]) == 2
    assert "not a usable staff name" in capsys.readouterr().err
    _stdin(monkeypatch, "correct horse battery\n")
    assert main(["staff", "add", "Alice", "--password-stdin"]) == 0
    _stdin(monkeypatch, "correct horse battery\n")
    assert main(["staff", "add", "alice", "--password-stdin"]) == 1
    assert "already an account named 'alice'" in capsys.readouterr().err
    assert main(["staff", "remove", "Bob"]) == 1
    assert "no account named 'Bob'" in capsys.readouterr().err


def test_without_a_terminal_the_password_must_come_from_stdin(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "correct horse battery\n")
    assert main(["staff", "add", "Alice"]) == 2
    assert "use --password-stdin" in capsys.readouterr().err


def test_passwd_token_and_remove(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, "correct horse battery\n")
    assert main(["staff", "add", "Alice", "--password-stdin"]) == 0
    _stdin(monkeypatch, "another good password\n")
    assert main(["staff", "passwd", "alice", "--password-stdin"]) == 0
    assert not _check(database, "Alice", "correct horse battery")
    assert _check(database, "Alice", "another good password")
    capsys.readouterr()
    assert main(["staff", "token", "Alice"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert "not shown again" in captured.err
    assert _token(database, token) == "Alice"
    assert main(["staff", "token", "Alice", "--revoke"]) == 0
    assert "Revoked 1 token" in capsys.readouterr().out
    assert _token(database, token) is None
    assert main(["staff", "remove", "Alice"]) == 0
    assert not _check(database, "Alice", "another good password")


def test_list_on_a_missing_database_is_an_error(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staff", "list"]) == 1
    assert "no database" in capsys.readouterr().err
