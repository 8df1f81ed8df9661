"""Token buckets per key (a visitor, an address), in memory: limits protect this process, not a cluster.

A refused request learns how long to wait (``retry_after``), so the widget can say so and send the kept
message itself when the time has passed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from bot.channels.web.config import Rate

MAX_KEYS = 100_000
"""Buckets kept at most; the least recently used go first (a full bucket forgotten is a full bucket)."""


class RateLimiter:
    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        now = self._clock()
        per_second = self.rate.per_minute / 60
        tokens, last = self._buckets.pop(key, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + (now - last) * per_second)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / per_second if per_second > 0 else 3600.0
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return wait
