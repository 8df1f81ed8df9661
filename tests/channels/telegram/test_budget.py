"""The Telegram limiter in front of the shared budget: every message is counted in the database, a 429
received by one replica pauses the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.channels.telegram.app import SplitRateLimiter
from bot.channels.telegram.budget import SharedBudget
from bot.storage import Database


def limiter(db: Database) -> SplitRateLimiter:
    """The production split limiter, without its per-process throttling or 429 retries, on ``db``'s budget."""
    return SplitRateLimiter(
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0),
        AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0),
        SharedBudget(db),
    )


async def send(limit: SplitRateLimiter, chat_id: int, callback: Any = None) -> object:
    async def ok() -> dict[str, Any]:
        return {"ok": True}

    return await limit.process_request(callback or ok, (), {}, "sendMessage", {"chat_id": chat_id}, None)


async def test_messages_of_every_replica_are_counted_in_one_budget(db: Database) -> None:
    async with await Database.open(db.location) as other:
        a, b = limiter(db), limiter(other)
        for n in range(5):
            await send(a if n % 2 else b, 4711)
        await send(a, -1001)  # the staff group has a budget of its own
        (_, private) = await db.budget_use("telegram") or (0, 0)
        (_, group) = await db.budget_use("telegram:group:-1001") or (0, 0)
    assert 1 <= private <= 5  # all five, unless a window turned over in between: never more
    assert group == 1


async def test_a_429_on_one_replica_pauses_the_budget_for_the_others(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as build_application does
    async with await Database.open(db.location) as other:
        a = limiter(db)

        async def flood() -> None:
            raise RetryAfter(timedelta(seconds=30))

        with pytest.raises(RetryAfter):
            await send(a, 4711, flood)
        wait = await other.take_budget(SharedBudget(other).budget(None), datetime.now(UTC))
        assert 25 < wait <= 30  # replica B must not send for about as long as Telegram said
        group_wait = await other.take_budget(SharedBudget(other).budget("-1001"), datetime.now(UTC))
        assert group_wait == 0.0  # the staff group's budget is not held up by a private chat's 429
