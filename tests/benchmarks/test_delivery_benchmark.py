"""Smoke test of benchmarks/delivery.py: it drives the real bot through the fake Bot API and answers everyone.
No timing is asserted."""

from __future__ import annotations

from benchmarks import delivery


async def test_every_question_gets_its_answer() -> None:
    result = await delivery.run(customers=3, messages=2, latency=0.0, concurrency=30, limiter="telegram")
    assert result.answers == 6
    assert 0 < result.p50 <= result.p99 and result.per_second > 0
