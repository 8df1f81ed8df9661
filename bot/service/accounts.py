"""Staff accounts for the browser inbox: passwords, API tokens, sessions and login throttling.

Why it is built this way:

* Passwords are hashed with argon2id (argon2-cffi's defaults, the RFC 9106 "low memory" profile): slow and
  memory-hard, so a stolen database file does not give the passwords away. Hashing runs in a worker
  thread, because ~0.1-0.3 s of CPU would otherwise stall every customer's turn on the event loop.
* API tokens and session ids are 256 random bits; for those a single SHA-256 is enough (nobody can guess
  the input), and lets each request find its row by an index instead of trying every argon2 hash.
* Throttling lives in memory: it only has to slow down guessing against the one process that serves the
  login form. A restart forgets it, which costs an attacker a restart per few guesses.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.service.clock import Clock, utcnow
from bot.storage import Database
from bot.storage import accounts as store
from bot.storage.accounts import Account, AccountSummary, Session

NAME_PATTERN = re.compile(r"^[^\W_][\w .'-]{0,38}[\w.]$|^[^\W_]$")
"""Letters (any script), digits, spaces, ``.`` ``'`` ``-`` ``_`` inside; customers read this name in replies."""
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SESSION_LIFETIME = timedelta(hours=12)
"""One working day: a session cookie left on a shared computer dies overnight."""
TOKEN_STAMP_INTERVAL = timedelta(minutes=1)
TOKEN_PREFIX = "cbt_"
"""API tokens start with this, so secret scanners and people recognise a leaked one."""


class AccountError(Exception):
    """The account action is not possible; the message says why, for the person who tried."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise AccountError(
            f"{name!r} is not a usable staff name: 1-40 letters or digits (spaces, . ' - _ inside); "
            "customers read it in replies"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD} characters")
    return password


class AccountService:
    def __init__(self, db: Database, *, clock: Clock = utcnow, hasher: PasswordHasher | None = None) -> None:
        """``hasher``: argon2 parameters (the default is argon2-cffi's recommended profile)."""
        self.db = db
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def add(self, name: str, password: str, *, admin: bool = False) -> Account:
        name = check_name(name)
        password_hash = await self._hash(check_password(password))
        async with self.db.transaction() as tx:
            created = await store.add_account(tx, name, password_hash, admin=admin, now=self.clock())
        if created is None:
            raise AccountError(f"there is already an account named {name!r}")
        return created

    async def remove(self, name: str) -> None:
        async with self.db.transaction() as tx:
            if not await store.remove_account(tx, name.strip()):
                raise AccountError(f"there is no account named {name.strip()!r}")

    async def set_password(self, name: str, password: str) -> None:
        """New password; every session of the account ends."""
        password_hash = await self._hash(check_password(password))
        async with self.db.transaction() as tx:
            if not await store.set_password(tx, name.strip(), password_hash, self.clock()):
                raise AccountError(f"there is no account named {name.strip()!r}")

    async def list(self) -> list[AccountSummary]:
        async with self.db.snapshot() as tx:
            return await store.accounts(tx, self.clock())

    async def new_token(self, name: str) -> str:
        """A new API token for ``name``; only its hash is stored, so this is the one time it is seen."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            found = await store.account(tx, name.strip())
            if found is None:
                raise AccountError(f"there is no account named {name.strip()!r}")
            await store.add_token(tx, found.id, _digest(token), self.clock())
        return token

    async def revoke_tokens(self, name: str) -> int:
        async with self.db.transaction() as tx:
            found = await store.account(tx, name.strip())
            if found is None:
                raise AccountError(f"there is no account named {name.strip()!r}")
            return await store.revoke_tokens(tx, found.id)

    # --- authentication --------------------------------------------------------------------------------------

    async def check_password(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is right. An unknown name costs the same hashing time as a wrong
        password, so response times do not reveal which names exist."""
        async with self.db.snapshot() as tx:
            found = await store.account(tx, name.strip()) if name.strip() else None
        if found is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self._hash(secrets.token_hex(16))
            await asyncio.to_thread(self._verify, self._dummy_hash, password)
            return None
        if not await asyncio.to_thread(self._verify, found.password_hash, password):
            return None
        if self.hasher.check_needs_rehash(found.password_hash):
            new_hash = await self._hash(password)
            async with self.db.transaction() as tx:
                await store.update_hash(tx, found.id, new_hash)
        return found

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def check_token(self, token: str) -> Account | None:
        """The token's account. When it was last used is written at most once a minute, so a script
        polling the API does not take the database's write lock on every request."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        async with self.db.snapshot() as tx:
            found = await store.account_by_token(tx, _digest(token))
        if found is None:
            return None
        token_id, last_used, account = found
        now = self.clock()
        if last_used is None or now - last_used >= TOKEN_STAMP_INTERVAL:
            async with self.db.transaction() as tx:
                await store.stamp_token(tx, token_id, now)
        return account

    async def start_session(self, account: Account) -> tuple[str, Session]:
        """A new session: the cookie value (only its hash is stored) and the session with its CSRF token."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + SESSION_LIFETIME
        async with self.db.transaction() as tx:
            await store.add_session(tx, account.id, _digest(session_id), csrf, now=now, expires_at=expires)
        return session_id, Session(account, csrf, expires)

    async def session(self, session_id: str) -> Session | None:
        async with self.db.snapshot() as tx:
            return await store.session(tx, _digest(session_id), self.clock())

    async def end_session(self, session_id: str) -> None:
        async with self.db.transaction() as tx:
            await store.end_session(tx, _digest(session_id))


@dataclass
class LoginThrottle:
    """Login attempts per account name and per address within a window; beyond the limit, a wait.

    Per account stops guessing one person's password from many addresses; per address stops one address
    trying many names. An attempt counts as failed from the moment it starts (checking a password takes a
    noticeable fraction of a second, and parallel guesses must not all slip through before the first one
    is counted); a success takes its own attempt back and clears the account's record.
    """

    clock: Clock = utcnow
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, str]:
        return f"name:{name.strip().casefold()}", f"addr:{address}"

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, name: str, address: str) -> str | None:
        """Why a login attempt must wait now, with how long; None when it may go ahead."""
        now = self.clock()
        account_key, address_key = self._keys(name, address)
        for key, limit, what in (
            (account_key, self.per_account, "this account"),
            (address_key, self.per_address, "your address"),
        ):
            times = self._recent(key, now)
            if len(times) >= limit:
                wait = self.window - (now - times[0])
                minutes = max(1, int(wait.total_seconds() // 60) + (wait.total_seconds() % 60 > 0))
                return (
                    f"Too many failed logins for {what}. Try again in {minutes} minute"
                    f"{'' if minutes == 1 else 's'}."
                )
        return None

    def attempt(self, name: str, address: str) -> datetime:
        """Count an attempt as failed until :meth:`succeeded` says otherwise; returns its time."""
        now = self.clock()
        for key in self._keys(name, address):
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > 100_000:  # a flood of names must not grow memory without bound
            self._failures.pop(next(iter(self._failures)))
        return now

    def succeeded(self, name: str, address: str, at: datetime) -> None:
        account_key, address_key = self._keys(name, address)
        self._failures.pop(account_key, None)
        times = self._failures.get(address_key)
        if times is not None and at in times:
            times.remove(at)
