"""Queue order, statistics, and the privacy operations, on a real file."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.core.model import Author, Priority, Reason
from bot.storage import Customer, Database
from bot.storage.reports import export_customer, find_customer, forget_customer, queue_entries, stats
from tests.storage.conftest import T0


async def _ticket(
    db: Database, customer: Customer, priority: Priority, minutes_ago: int, text: str = "x"
) -> int:
    at = T0 - timedelta(minutes=minutes_ago)
    message = await db.record_inbound(
        customer.id, text=text, attachment=None, payload=None, channel_message_id=None, received_at=at
    )
    ticket = await db.create_ticket(
        customer.id,
        reason=Reason.ANGRY,
        priority=priority,
        anger=80,
        anger_reasons=[f"phrase '{text}' (+30)"],
        summary=text,
        first_message_id=message.id,
        now=at,
    )
    await db.mark_handled(
        message.id, analysis_json=json.dumps({"intents": [], "quote": text}), ticket_id=ticket.id
    )
    return ticket.id


async def test_queue_is_ordered_by_priority_then_wait(db: Database, customer: Customer) -> None:
    normal_old = await _ticket(db, customer, Priority.NORMAL, 50)
    urgent_new = await _ticket(db, customer, Priority.URGENT, 1)
    normal_new = await _ticket(db, customer, Priority.NORMAL, 10)
    low_oldest = await _ticket(db, customer, Priority.LOW, 500)
    async with db.snapshot() as tx:
        entries = await queue_entries(tx, T0)
    assert [e.ticket.id for e in entries] == [urgent_new, normal_old, normal_new, low_oldest]
    assert entries[1].waited == timedelta(minutes=50)
    assert entries[3].overdue  # low priority: 8 h first-response target, waited 500 min
    assert not entries[0].overdue


async def test_stats_counts_times_bot_share_and_csat(db: Database, customer: Customer) -> None:
    handled = await _ticket(db, customer, Priority.HIGH, 120)
    async with db.transaction() as tx:
        await tx.mark_first_response(handled, "alice", T0 - timedelta(minutes=110))
        await tx.resolve(handled, "alice", T0 - timedelta(minutes=60))
        assert await tx.record_rating(handled, 4, T0, customer_id=customer.id)
    await _ticket(db, customer, Priority.URGENT, 30)
    # Another customer the bot helped alone, in two conversations a few days apart.
    other = await db.upsert_customer("terminal", "u2", "Jo", "en")
    for days in (3, 1):
        message = await db.record_inbound(
            other.id,
            text="invoice?",
            attachment=None,
            payload=None,
            channel_message_id=None,
            received_at=T0 - timedelta(days=days),
        )
        await db.mark_handled(message.id, analysis_json=None, ticket_id=None)
    async with db.snapshot() as tx:
        result = await stats(tx, T0)
    assert result.active_by_priority["urgent"] == {"open": 1}
    assert result.active_by_priority["high"] == {}
    assert result.median_first_response == timedelta(minutes=10)
    assert result.median_resolution == timedelta(minutes=60)
    assert (result.conversations, result.bot_resolved) == (3, 2)
    assert result.bot_resolved_share == 2 / 3
    assert (result.ratings, result.csat_average) == (1, 4.0)
    assert result.overdue_first_response == 1  # the urgent one: 15 min target, waiting 30


async def test_export_then_forget_keeps_statistics_but_no_personal_data(
    db: Database, customer: Customer
) -> None:
    ticket_id = await _ticket(db, customer, Priority.NORMAL, 5, text="Meine IBAN ist DE89")
    await db.save_conversation(customer.id, '{"misses": 0}')
    await db.enqueue_outbound(
        customer.id, text="Hallo Kim Berger", author=Author.BOT, ticket_id=ticket_id, now=T0
    )
    message = (await db.ticket_messages(ticket_id))[0]
    await db.link_messages(message.id, "staff", "-100", "5")
    async with db.snapshot() as tx:
        assert (await find_customer(tx, "terminal:u1")) == customer
        assert (await find_customer(tx, str(customer.id))) == customer
        exported = await export_customer(tx, customer.id)
    assert exported is not None
    dumped = json.dumps(exported, ensure_ascii=False)
    for secret in ("Kim Berger", "DE89", '"u1"', "misses"):
        assert secret in dumped
    assert exported["messages"][0]["analysis"] == {"intents": [], "quote": "Meine IBAN ist DE89"}  # type: ignore[index]

    async with db.transaction() as tx:
        assert await forget_customer(tx, customer.id, "dpo", T0)
    async with db.snapshot() as tx:
        after = await export_customer(tx, customer.id)
        result = await stats(tx, T0)
    text = json.dumps(after, ensure_ascii=False)
    for secret in ("Kim Berger", "DE89", '"u1"', "misses", '"-100"'):
        assert secret not in text, secret
    assert await db.customer_by_external("terminal", "u1") is None
    assert (await db.ticket(ticket_id)).status.value == "resolved"  # type: ignore[union-attr]
    assert result.conversations == 1  # the conversation still counts, anonymously
    assert await db.due_outbox("terminal", now=T0) == []  # undelivered mail to them is cancelled
    fresh = await db.upsert_customer("terminal", "u1", "Kim", "de")
    assert fresh.id != customer.id
