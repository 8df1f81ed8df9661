"""Staff accounts, API tokens and login sessions of the browser inbox (tables ``staff_*``).

Functions take a :class:`Tx` like the report queries, so the service picks the transaction. Nothing here
hashes or checks a password: the rows hold what :mod:`bot.service.accounts` computed, and this module only
stores and finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import Tx
from bot.storage.records import from_db_time, opt_time, to_db_time
from bot.storage.rows import Row


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    admin: bool
    password_hash: str
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """What ``staff list`` shows: no hashes."""

    name: str
    admin: bool
    created_at: datetime
    tokens: int
    sessions: int
    last_token_use: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: datetime


def _account(row: Row, prefix: str = "") -> Account:
    return Account(
        id=int(row[prefix + "id"]),
        name=str(row[prefix + "name"]),
        admin=bool(row[prefix + "admin"]),
        password_hash=str(row[prefix + "password_hash"]),
        created_at=from_db_time(row[prefix + "created_at"]),
        password_changed_at=from_db_time(row[prefix + "password_changed_at"]),
    )


_ACCOUNT_COLUMNS = ", ".join(
    f"a.{column} AS a_{column}"
    for column in ("id", "name", "admin", "password_hash", "created_at", "password_changed_at")
)


async def add_account(tx: Tx, name: str, password_hash: str, *, admin: bool, now: datetime) -> Account | None:
    """A new account; None when the name is taken (names compare without case: ``alice`` is ``Alice``)."""
    row = await tx.fetch_one(
        "INSERT INTO staff_accounts (name, password_hash, admin, created_at, password_changed_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *",
        (name, password_hash, 1 if admin else 0, to_db_time(now), to_db_time(now)),
    )
    return None if row is None else _account(row)


async def account(tx: Tx, name: str) -> Account | None:
    row = await tx.fetch_one("SELECT * FROM staff_accounts WHERE name = ?", (name,))
    return None if row is None else _account(row)


async def accounts(tx: Tx, now: datetime) -> list[AccountSummary]:
    rows = await tx.fetch_all(
        "SELECT a.name, a.admin, a.created_at,"
        " (SELECT count(*) FROM staff_tokens t WHERE t.account_id = a.id) AS tokens,"
        " (SELECT count(*) FROM staff_sessions s WHERE s.account_id = a.id AND s.expires_at > ?) AS sessions,"
        " (SELECT max(t.last_used_at) FROM staff_tokens t WHERE t.account_id = a.id) AS last_token_use"
        " FROM staff_accounts a ORDER BY a.name",
        (to_db_time(now),),
    )
    return [
        AccountSummary(
            name=str(row["name"]),
            admin=bool(row["admin"]),
            created_at=from_db_time(row["created_at"]),
            tokens=int(row["tokens"]),
            sessions=int(row["sessions"]),
            last_token_use=opt_time(row["last_token_use"]),
        )
        for row in rows
    ]


async def remove_account(tx: Tx, name: str) -> bool:
    """Delete the account with its tokens and sessions (cascade). Its name stays on past tickets."""
    return await tx.execute("DELETE FROM staff_accounts WHERE name = ?", (name,)) > 0


async def set_password(tx: Tx, name: str, password_hash: str, now: datetime) -> bool:
    """Replace the hash and end every session of the account (a stolen session dies with the old
    password). API tokens stay: they are revoked on their own."""
    found = await account(tx, name)
    if found is None:
        return False
    await tx.execute(
        "UPDATE staff_accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?",
        (password_hash, to_db_time(now), found.id),
    )
    await tx.execute("DELETE FROM staff_sessions WHERE account_id = ?", (found.id,))
    return True


async def update_hash(tx: Tx, account_id: int, password_hash: str) -> None:
    """A rehash with newer parameters after a successful login; the password itself did not change."""
    await tx.execute("UPDATE staff_accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))


async def add_token(tx: Tx, account_id: int, token_hash: str, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO staff_tokens (account_id, token_hash, created_at) VALUES (?, ?, ?)",
        (account_id, token_hash, to_db_time(now)),
    )


async def revoke_tokens(tx: Tx, account_id: int) -> int:
    return await tx.execute("DELETE FROM staff_tokens WHERE account_id = ?", (account_id,))


async def account_by_token(tx: Tx, token_hash: str) -> tuple[int, datetime | None, Account] | None:
    """``(token id, when it was last used, its account)``."""
    row = await tx.fetch_one(
        f"SELECT t.id AS token_id, t.last_used_at, {_ACCOUNT_COLUMNS} FROM staff_tokens t"
        " JOIN staff_accounts a ON a.id = t.account_id WHERE t.token_hash = ?",
        (token_hash,),
    )
    if row is None:
        return None
    return int(row["token_id"]), opt_time(row["last_used_at"]), _account(row, "a_")


async def stamp_token(tx: Tx, token_id: int, now: datetime) -> None:
    await tx.execute("UPDATE staff_tokens SET last_used_at = ? WHERE id = ?", (to_db_time(now), token_id))


async def add_session(
    tx: Tx, account_id: int, id_hash: str, csrf_token: str, *, now: datetime, expires_at: datetime
) -> None:
    await tx.execute("DELETE FROM staff_sessions WHERE expires_at <= ?", (to_db_time(now),))
    await tx.execute(
        "INSERT INTO staff_sessions (id_hash, account_id, csrf_token, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (id_hash, account_id, csrf_token, to_db_time(now), to_db_time(expires_at)),
    )


async def session(tx: Tx, id_hash: str, now: datetime) -> Session | None:
    row = await tx.fetch_one(
        f"SELECT s.csrf_token, s.expires_at, {_ACCOUNT_COLUMNS} FROM staff_sessions s"
        " JOIN staff_accounts a ON a.id = s.account_id WHERE s.id_hash = ? AND s.expires_at > ?",
        (id_hash, to_db_time(now)),
    )
    if row is None:
        return None
    return Session(_account(row, "a_"), str(row["csrf_token"]), from_db_time(row["expires_at"]))


async def end_session(tx: Tx, id_hash: str) -> bool:
    return await tx.execute("DELETE FROM staff_sessions WHERE id_hash = ?", (id_hash,)) > 0
