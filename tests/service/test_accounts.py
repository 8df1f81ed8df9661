"""Staff accounts on a real SQLite file: argon2 hashes, tokens and sessions stored hashed, throttling."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from bot.service.accounts import TOKEN_PREFIX, AccountError, AccountService, LoginThrottle
from bot.storage import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
"""Real argon2id with smaller parameters: the tests check behaviour, not the cost."""


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(db: Database, clock: Clock) -> AccountService:
    return AccountService(db, clock=clock, hasher=FAST)


async def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.snapshot() as tx:
        return [tuple(row) for row in await tx.fetch_all(sql)]


async def test_passwords_are_stored_as_argon2id_and_checked(db: Database, accounts: AccountService) -> None:
    await accounts.add("Alice", "correct horse battery", admin=True)
    [(stored,)] = await _rows(db, "SELECT password_hash FROM staff_accounts")
    assert str(stored).startswith("$argon2id$") and "correct horse" not in str(stored)
    found = await accounts.check_password("alice", "correct horse battery")  # names ignore case
    assert found is not None and (found.name, found.admin) == ("Alice", True)
    assert await accounts.check_password("Alice", "correct horse batterY") is None
    assert await accounts.check_password("Nobody", "correct horse battery") is None
    assert await accounts.check_password("", "") is None


async def test_bad_names_passwords_and_duplicates_are_refused(accounts: AccountService) -> None:
    for name in ("", " ", "<script>", "x" * 41, "-dash"):
        with pytest.raises(AccountError, match="not a usable staff name"):
            await accounts.add(name, "correct horse battery")
    with pytest.raises(AccountError, match="too short"):
        await accounts.add("Bob", "short")
    await accounts.add("Anna M.", "correct horse battery")
    with pytest.raises(AccountError, match="already"):
        await accounts.add("anna m.", "another long password")


async def test_new_password_ends_sessions_and_old_password(accounts: AccountService) -> None:
    alice = await accounts.add("Alice", "correct horse battery")
    cookie, session = await accounts.start_session(alice)
    assert (await accounts.session(cookie)) == session
    await accounts.set_password("Alice", "a brand new password")
    assert await accounts.session(cookie) is None
    assert await accounts.check_password("Alice", "correct horse battery") is None
    assert await accounts.check_password("Alice", "a brand new password") is not None
    with pytest.raises(AccountError, match="no account"):
        await accounts.set_password("Bob", "a brand new password")


async def test_sessions_expire_and_end(accounts: AccountService, clock: Clock) -> None:
    alice = await accounts.add("Alice", "correct horse battery")
    cookie, _ = await accounts.start_session(alice)
    other, _ = await accounts.start_session(alice)
    await accounts.end_session(cookie)
    assert await accounts.session(cookie) is None
    assert await accounts.session(other) is not None
    clock.now = NOW + timedelta(hours=12, seconds=1)
    assert await accounts.session(other) is None
    assert await accounts.session("made-up") is None


async def test_tokens_are_shown_once_stored_hashed_and_revocable(
    db: Database, accounts: AccountService, clock: Clock
) -> None:
    await accounts.add("Alice", "correct horse battery")
    token = await accounts.new_token("Alice")
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    [(stored,)] = await _rows(db, "SELECT token_hash FROM staff_tokens")
    assert token not in str(stored)
    found = await accounts.check_token(token)
    assert found is not None and found.name == "Alice"
    assert await accounts.check_token(token + "x") is None
    assert await accounts.check_token("Bearer nonsense") is None
    listed = await accounts.list()
    assert [(a.name, a.tokens, a.last_token_use) for a in listed] == [("Alice", 1, NOW)]
    clock.now = NOW + timedelta(seconds=30)  # stamped at most once a minute
    assert await accounts.check_token(token) is not None
    assert [a.last_token_use for a in await accounts.list()] == [NOW]
    clock.now = NOW + timedelta(minutes=1)
    assert await accounts.check_token(token) is not None
    assert [a.last_token_use for a in await accounts.list()] == [NOW + timedelta(minutes=1)]
    assert await accounts.revoke_tokens("Alice") == 1
    assert await accounts.check_token(token) is None


async def test_removing_an_account_removes_its_tokens_and_sessions(
    db: Database, accounts: AccountService
) -> None:
    alice = await accounts.add("Alice", "correct horse battery")
    token = await accounts.new_token("Alice")
    cookie, _ = await accounts.start_session(alice)
    await accounts.remove("alice")
    assert await accounts.check_token(token) is None
    assert await accounts.session(cookie) is None
    assert await _rows(db, "SELECT count(*) FROM staff_tokens") == [(0,)]
    with pytest.raises(AccountError, match="no account"):
        await accounts.remove("alice")


async def test_an_outdated_hash_is_upgraded_on_login(db: Database, clock: Clock) -> None:
    weak = AccountService(
        db, clock=clock, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    await weak.add("Alice", "correct horse battery")
    stronger = AccountService(db, clock=clock, hasher=FAST)
    assert await stronger.check_password("Alice", "correct horse battery") is not None
    [(stored,)] = await _rows(db, "SELECT password_hash FROM staff_accounts")
    assert "m=8192" in str(stored)


def test_throttle_counts_failures_per_account_and_per_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, per_account=3, per_address=5)
    for _ in range(3):
        assert throttle.blocked("Alice", "10.0.0.1") is None
        throttle.attempt("Alice", "10.0.0.1")
    message = throttle.blocked("alice", "10.0.0.2")
    assert message == "Too many failed logins for this account. Try again in 15 minutes."
    assert throttle.blocked("Bob", "10.0.0.1") is None
    throttle.attempt("Bob", "10.0.0.1")
    throttle.attempt("Carl", "10.0.0.1")
    assert throttle.blocked("Dora", "10.0.0.1") == (
        "Too many failed logins for your address. Try again in 15 minutes."
    )
    clock.now = NOW + timedelta(minutes=14, seconds=30)
    assert throttle.blocked("Alice", "10.0.0.9") == (
        "Too many failed logins for this account. Try again in 1 minute."
    )
    clock.now = NOW + timedelta(minutes=15)
    assert throttle.blocked("Alice", "10.0.0.1") is None


def test_throttle_forgets_an_account_after_a_success_and_takes_the_attempt_back() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock, per_account=2, per_address=3)
    throttle.attempt("Alice", "a")
    clock.now += timedelta(seconds=1)
    throttle.succeeded("alice", "a", throttle.attempt("Alice", "a"))
    throttle.attempt("Alice", "a")
    assert throttle.blocked("Alice", "a") is None
    assert throttle._failures["addr:a"] == deque([NOW, NOW + timedelta(seconds=1)])


def test_attempts_in_flight_count_so_parallel_guesses_cannot_slip_through() -> None:
    throttle = LoginThrottle(clock=Clock(), per_account=5)
    started = 0
    for _ in range(50):  # fifty requests arrive before any password check has finished
        if throttle.blocked("Alice", "10.0.0.1") is None:
            throttle.attempt("Alice", "10.0.0.1")
            started += 1
    assert started == 5
