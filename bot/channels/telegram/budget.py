"""Telegram's rate limits shared by every replica, through the database.

Telegram allows a bot about 30 messages a second overall and 20 a minute in one group, however many
processes send them. PTB's ``AIORateLimiter`` counts only its own process, so three replicas would send 90 a
second and collect 429s. :class:`SharedBudget` takes each message from a budget row in the database first
(``budgets``: one fixed window and its count, taken in one atomic upsert, see
``bot/storage/coordination.py``); the per-process limiter stays behind it to smooth bursts and wait out
429s. A 429 is written into the row, so every replica pauses for its ``retry_after``, not only the one that
received it. Private chats and the staff group use separate budgets (as the split limiter always did): the
group's strict limit, or a 429 from it, never holds up customers' answers.

When the database cannot be reached the budget steps aside (logged once) and the per-process limiter alone
applies: sending a little too fast beats not answering at all.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.storage import Database
from bot.storage.coordination import Budget

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 30
GROUP_MESSAGES_PER_MINUTE = 20
LONGEST_PAUSE = 5.0
"""Seconds between two looks at a budget while waiting (a 429 may be lifted by a later, shorter one)."""


class SharedBudget:
    def __init__(
        self,
        db: Database,
        *,
        per_second: int = MESSAGES_PER_SECOND,
        group_per_minute: int = GROUP_MESSAGES_PER_MINUTE,
        name: str = "telegram",
    ) -> None:
        self.db = db
        self.name = name
        self.overall = Budget(name, per_second, 1.0)
        self.group_per_minute = group_per_minute
        self.waited = 0
        """How often a send had to wait for the shared budget (for tests and the benchmark)."""
        self._failing = False

    def budget(self, group: str | None) -> Budget:
        if group is None:
            return self.overall
        return Budget(f"{self.name}:group:{group}", self.group_per_minute, 60.0)

    async def take(self, group: str | None = None) -> None:
        """Wait until the budget (the bot's, or ``group``'s) has room, and use one of it."""
        budget = self.budget(group)
        waited = False
        while True:
            try:
                wait = await self.db.take_budget(budget, datetime.now(UTC))
            except Exception as error:
                self._degraded(error)
                return
            self._failing = False
            if wait <= 0:
                self.waited += waited
                return
            waited = True
            await asyncio.sleep(min(wait, LONGEST_PAUSE))

    async def blocked(self, group: str | None, seconds: float) -> None:
        """Telegram answered 429: every replica leaves this budget alone for ``seconds``."""
        try:
            await self.db.block_budget(
                self.budget(group).name, datetime.now(UTC) + timedelta(seconds=seconds)
            )
        except Exception as error:
            self._degraded(error)

    def _degraded(self, error: Exception) -> None:
        if not self._failing:
            log.warning("the shared Telegram budget is unavailable (%s); limiting this process only", error)
        self._failing = True
