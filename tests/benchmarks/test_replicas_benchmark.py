"""Smoke test of benchmarks/replicas.py: real replica processes through the fake's webhook delivery answer
every question, and the statement counter inside the replicas counts. No timing is asserted."""

from __future__ import annotations

from benchmarks import replicas


async def test_one_replica_on_sqlite_answers_every_question_and_counts_its_statements() -> None:
    result = await replicas.run_once("sqlite", 1, 2, spread=0.0, limiter="off")
    assert result.answered == result.questions == 10
    assert 0 < result.p50 <= result.p99 and result.per_second > 0
    # A turn is at least a few statements (store the update, the message, the turn, the outbox, sent marks).
    assert result.statements_per_message >= 5
    assert result.transactions_per_message is None  # SQLite: no server-side counter


def test_the_baseline_is_measured_first_and_only_once() -> None:
    assert replicas.configurations(["postgresql"], [1, 2, 3]) == [
        ("sqlite", 1),
        ("postgresql", 1),
        ("postgresql", 2),
        ("postgresql", 3),
    ]
    assert replicas.configurations(["sqlite"], [1, 3]) == [("sqlite", 1), ("sqlite", 3)]
