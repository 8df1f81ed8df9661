"""What several replicas on one database agree on: leases, shared rate budgets and generation counters.

Why it is built this way:

* **Leases, not locks.** A replica takes work (a customer's outbox queue, a chat's inbox, a timed job) by
  writing its id and a ``lease_until`` into ``leases`` and renews that while it works. A replica that dies
  simply stops renewing; when the lease has passed another one takes the work over. A database lock would be
  released by a crash too, but could not be held across the slow network call of a send.
* **One statement decides.** Taking a lease is ``INSERT … ON CONFLICT DO UPDATE … WHERE`` the row is free,
  lapsed or already ours: two replicas racing for it serialise on the primary key on both engines, and
  exactly one of them gets a row back.
* **Fixed windows for budgets.** Telegram allows about 30 messages a second per bot and 20 a minute per
  group. A row per budget holds the current window's number and how much of it is used; taking one is again
  one upsert that only succeeds while the window has room, so N replicas together never exceed it. A 429's
  ``retry_after`` is written into the same row and every replica waits it out.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal

from bot.storage.records import from_db_time, to_db_time
from bot.storage.transaction import StorageError, TxBase, marks

OUTBOX = "outbox"
"""Lease scope of customers' outbox queues (key: the customer id) and the staff group's (key: ``staff``)."""

JOB = "job"
"""Lease scope of timed jobs (key: the job's name)."""


def inbox_scope(channel: str) -> str:
    """Lease scope of a channel's stored inbox (key: the chat)."""
    return f"inbox:{channel}"


@cache
def replica_id() -> str:
    """This process's name in ``leases.owner``: host, pid and a random part, made once per process.

    The random part tells a restarted process (same host, maybe the same pid in a container) from the one
    before it, whose leases must lapse instead of being renewed by the newcomer.
    """
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class LeaseLost(StorageError):
    """The lease on this work has passed to another replica: stop, it continues there."""


Taken = Literal["free", "taken", "kept"]


@dataclass(frozen=True, slots=True)
class Budget:
    """``limit`` uses per ``window`` seconds, shared by every replica through the ``budgets`` row ``name``."""

    name: str
    limit: int
    window: float


class CoordinationQueries(TxBase):
    # --- leases ----------------------------------------------------------------------------------------

    async def take_lease(
        self, scope: str, key: str, owner: str, *, now: datetime, until: datetime
    ) -> Taken | None:
        """Hold ``(scope, key)`` until ``until``: ``"free"`` if nobody held it, ``"taken"`` if another
        replica's lease had lapsed (taken over: its work may be half done), ``"kept"`` if it already was ours
        (renewed), None if another replica holds it."""
        before = await self.fetch_one(
            "SELECT owner, lease_until FROM leases WHERE scope = ? AND key = ?", (scope, key)
        )
        row = await self.fetch_one(
            "INSERT INTO leases (scope, key, owner, lease_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (scope, key) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until"
            " WHERE leases.owner = excluded.owner OR leases.lease_until <= ? RETURNING owner",
            (scope, key, owner, to_db_time(until), to_db_time(now)),
        )
        if row is None:
            return None
        if before is None:
            return "free"
        return "kept" if before["owner"] == owner else "taken"

    async def renew_leases(self, scope: str, owner: str, until: datetime) -> int:
        """Push every lease ``owner`` holds in ``scope`` to ``until`` (a slow send keeps its customer)."""
        return await self.execute(
            "UPDATE leases SET lease_until = ? WHERE scope = ? AND owner = ?",
            (to_db_time(until), scope, owner),
        )

    async def renew_lease(self, scope: str, key: str, owner: str, until: datetime) -> bool:
        """Renew one lease; False when ``owner`` no longer holds it."""
        changed = await self.execute(
            "UPDATE leases SET lease_until = ? WHERE scope = ? AND key = ? AND owner = ?",
            (to_db_time(until), scope, key, owner),
        )
        return changed > 0

    async def release_leases(self, scope: str, owner: str, keys: Sequence[str] | None = None) -> int:
        """Give up leases of ``owner`` in ``scope`` (those of ``keys``, or all of them)."""
        if keys is None:
            return await self.execute("DELETE FROM leases WHERE scope = ? AND owner = ?", (scope, owner))
        released = 0
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            released += await self.execute(
                f"DELETE FROM leases WHERE scope = ? AND owner = ? AND key IN ({marks(chunk)})",
                [scope, owner, *chunk],
            )
        return released

    async def lease_holder(self, scope: str, key: str, now: datetime) -> str | None:
        """Who holds ``(scope, key)`` right now (None: nobody, or the lease has lapsed)."""
        row = await self.fetch_one(
            "SELECT owner FROM leases WHERE scope = ? AND key = ? AND lease_until > ?",
            (scope, key, to_db_time(now)),
        )
        return None if row is None else str(row["owner"])

    async def expire_dead_local(self, owner: str, alive: Sequence[str]) -> int:
        """Let the leases of this host's dead processes lapse now instead of at ``lease_until``.

        ``owner`` is this process's :func:`replica_id`; ``alive`` the owners on this host still running
        (the caller checked their pids). Only leases of the same host are touched: another machine's
        processes cannot be checked from here, so theirs run out by time.
        """
        host = owner.rsplit("-", 2)[0]
        rows = await self.fetch_all("SELECT DISTINCT owner FROM leases WHERE owner <> ?", (owner,))
        dead = [
            str(row["owner"])
            for row in rows
            if str(row["owner"]).rsplit("-", 2)[0] == host and str(row["owner"]) not in alive
        ]
        for name in dead:
            await self.execute("UPDATE leases SET lease_until = '' WHERE owner = ?", (name,))
        return len(dead)

    async def lease_owners(self) -> list[str]:
        rows = await self.fetch_all("SELECT DISTINCT owner FROM leases ORDER BY owner")
        return [str(row["owner"]) for row in rows]

    # --- shared budgets --------------------------------------------------------------------------------

    async def take_budget(self, budget: Budget, now: datetime) -> float:
        """Use one of ``budget``: 0.0 if granted, else the seconds to wait before asking again (the
        window is full, or a 429 told every replica to wait)."""
        epoch = now.timestamp()
        window_no = math.floor(epoch / budget.window)
        stamp = to_db_time(now)
        row = await self.fetch_one(
            "INSERT INTO budgets (name, window_no, used) VALUES (?, ?, 1) ON CONFLICT (name) DO UPDATE SET"
            " used = CASE WHEN budgets.window_no = excluded.window_no THEN budgets.used + 1 ELSE 1 END,"
            " window_no = excluded.window_no"
            " WHERE budgets.blocked_until <= ?"
            " AND (budgets.window_no <> excluded.window_no OR budgets.used < ?) RETURNING used",
            (budget.name, window_no, stamp, budget.limit),
        )
        if row is not None:
            return 0.0
        state = await self.fetch_one(
            "SELECT window_no, used, blocked_until FROM budgets WHERE name = ?", (budget.name,)
        )
        wait = 0.0
        if state is None or (state["window_no"] == window_no and state["used"] >= budget.limit):
            wait = (window_no + 1) * budget.window - epoch  # the window is full: until the next one
        if state is not None and state["blocked_until"] > stamp:
            wait = max(wait, (from_db_time(state["blocked_until"]) - now).total_seconds())
        return max(wait, 0.001)

    async def block_budget(self, name: str, until: datetime) -> None:
        """Nobody uses ``name`` before ``until`` (Telegram answered 429 with a ``retry_after``)."""
        await self.execute(
            "INSERT INTO budgets (name, window_no, used, blocked_until) VALUES (?, 0, 0, ?)"
            " ON CONFLICT (name) DO UPDATE SET blocked_until = excluded.blocked_until"
            " WHERE budgets.blocked_until < excluded.blocked_until",
            (name, to_db_time(until)),
        )

    async def budget_use(self, name: str) -> tuple[int, int] | None:
        """``(window number, used in it)`` of ``name``: what the budget holds now, for inspection."""
        row = await self.fetch_one("SELECT window_no, used FROM budgets WHERE name = ?", (name,))
        return None if row is None else (int(row["window_no"]), int(row["used"]))

    # --- generations -----------------------------------------------------------------------------------

    async def bump_generation(self, name: str, now: datetime) -> int:
        """Count ``name`` up by one (every replica polling it sees the change); returns the new value."""
        row = await self.fetch_one(
            "INSERT INTO generations (name, value, changed_at) VALUES (?, 1, ?) ON CONFLICT (name) DO UPDATE"
            " SET value = generations.value + 1, changed_at = excluded.changed_at RETURNING value",
            (name, to_db_time(now)),
        )
        assert row is not None
        return int(row["value"])

    async def generation(self, name: str) -> int:
        row = await self.fetch_one("SELECT value FROM generations WHERE name = ?", (name,))
        return 0 if row is None else int(row["value"])


def lease_end(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
