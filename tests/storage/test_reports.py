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
    async def someone(name: str) -> Customer:  # one active ticket per customer
        return await db.upsert_customer("terminal", name, name, "de")

    normal_old = await _ticket(db, customer, Priority.NORMAL, 50)
    urgent_new = await _ticket(db, await someone("u"), Priority.URGENT, 1)
    normal_new = await _ticket(db, await someone("n"), Priority.NORMAL, 10)
    low_oldest = await _ticket(db, await someone("l"), Priority.LOW, 500)
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
        # Issue #13: only a conversation the bot actually answered counts as resolved by the bot.
        answered = json.dumps({"outcome": "invoice_copy", "answered": ["invoice_copy"]})
        await db.mark_handled(message.id, analysis_json=answered, ticket_id=None)
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


async def _said(db: Database, customer: Customer, minutes_ago: int, answered: tuple[str, ...]) -> None:
    message = await db.record_inbound(
        customer.id,
        text="q",
        attachment=None,
        payload=None,
        channel_message_id=None,
        received_at=T0 - timedelta(minutes=minutes_ago),
    )
    outcome = answered[0] if answered else "not_understood"
    detail = json.dumps({"outcome": outcome, "answered": list(answered)})
    await db.mark_handled(message.id, analysis_json=detail, ticket_id=None)


async def test_bot_share_counts_answered_conversations_and_closures_by_kind(
    db: Database, customer: Customer
) -> None:
    """Issue #13 finding 9: honest figures. A conversation the bot never answered is not "resolved by the
    bot"; hand-backs and withdrawals are outcomes of their own and stay out of the median resolution."""
    answered = await db.upsert_customer("terminal", "a", "A", "en")
    for minutes in (50, 49, 48):
        await _said(db, answered, minutes, ("invoice_copy",))
    unanswered = await db.upsert_customer("terminal", "b", "B", "en")
    await _said(db, unanswered, 40, ())  # asked something off-topic and left: not a bot resolution
    # One active ticket per customer: each is closed before the next one opens.
    staff_done = await _ticket(db, customer, Priority.NORMAL, 120)
    async with db.transaction() as tx:
        await tx.resolve(staff_done, "alice", T0 - timedelta(minutes=60))
    handed_back = await _ticket(db, customer, Priority.NORMAL, 100)
    async with db.transaction() as tx:
        await tx.resolve(handed_back, "alice", T0 - timedelta(minutes=99), resolution="handed_back")
    withdrawn = await _ticket(db, customer, Priority.NORMAL, 90)
    async with db.transaction() as tx:
        assert await tx.withdraw(withdrawn, T0 - timedelta(minutes=89))
        assert not await tx.withdraw(withdrawn, T0)  # closed already: nothing changes
    async with db.snapshot() as tx:
        result = await stats(tx, T0)
    assert (result.conversations, result.bot_resolved) == (3, 1)
    assert result.questions_answered == 3
    assert result.closed == {"resolved": 1, "handed_back": 1, "withdrawn": 1, "blocked": 0}
    assert result.median_resolution == timedelta(minutes=60)  # hand-back and withdrawal left out
    ticket = await db.ticket(withdrawn)
    assert ticket is not None and ticket.resolution == "withdrawn" and ticket.assignee is None
    events = [e.kind for e in await db.ticket_events(withdrawn)]
    assert events[-1] == "withdrawn"


async def test_forgetting_a_customer_keeps_what_the_bot_answered_for_the_statistics(
    db: Database, customer: Customer
) -> None:
    message = await db.record_inbound(
        customer.id, text="Meine IBAN", attachment=None, payload=None, channel_message_id=None, received_at=T0
    )
    detail = {"outcome": "bank_details_change", "answered": ["bank_details_change"], "quote": "Meine IBAN"}
    await db.mark_handled(message.id, analysis_json=json.dumps(detail), ticket_id=None)
    async with db.transaction() as tx:
        assert await forget_customer(tx, customer.id, "dpo", T0)
    async with db.snapshot() as tx:
        result = await stats(tx, T0)
        exported = await export_customer(tx, customer.id)
    assert (result.conversations, result.bot_resolved, result.questions_answered) == (1, 1, 1)
    assert "Meine IBAN" not in json.dumps(exported, ensure_ascii=False)


async def test_forgetting_erases_the_customers_poisoned_updates_from_the_inbox(
    db: Database, customer: Customer
) -> None:
    """A poisoned update keeps its raw JSON (customer text included) for the operator: not after a forget."""
    raw = json.dumps({"update_id": 7, "message": {"chat": {"id": "u1"}, "text": "IBAN DE89"}})
    other = json.dumps({"update_id": 8, "message": {"chat": {"id": "u2"}, "text": "hallo"}})
    await db.store_updates(customer.channel, [("7", "u1", raw), ("8", "u2", other)], T0)
    async with db.snapshot() as tx:
        stored = await tx.fetch_all("SELECT id FROM inbound_updates ORDER BY id")
    for row in stored:
        await db.poison_update(int(row["id"]), "ValueError", T0)
    async with db.transaction() as tx:
        assert await forget_customer(tx, customer.id, "dpo", T0)
        kept = await tx.fetch_all("SELECT chat, raw FROM inbound_updates")
    assert [(row["chat"], row["raw"]) for row in kept] == [("u2", other)]
