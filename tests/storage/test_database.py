"""The engine-facing storage API on a real file: customers, inbound durability, tickets, outbox, ratings."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from bot.channels.base import Button
from bot.core.model import Author, Priority, Reason, TicketStatus
from bot.storage import Customer, Database, StorageError, Ticket
from bot.storage.tickets import FIRST_RESPONSE_MINIMUM
from tests.storage.conftest import T0

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


async def _ticket(db: Database, customer: Customer, priority: Priority = Priority.NORMAL, at=T0) -> Ticket:
    message = await db.record_inbound(
        customer.id, text="kaputt", attachment=None, payload=None, channel_message_id=None, received_at=at
    )
    return await db.create_ticket(
        customer.id,
        reason=Reason.UNMATCHED,
        priority=priority,
        anger=10,
        anger_reasons=["phrase 'kaputt' (+10)"],
        summary="kaputt",
        first_message_id=message.id,
        now=at,
    )


async def test_open_sets_pragmas_and_schema_version(tmp_path: Path) -> None:
    """SQLite only: its pragmas (PostgreSQL's settings are the server's)."""
    async with await Database.open(tmp_path / "nested" / "bot.db") as db, db.snapshot() as tx:
        mode = await tx.fetch_one("PRAGMA journal_mode")
        keys = await tx.fetch_one("PRAGMA foreign_keys")
        version = await tx.fetch_one("PRAGMA user_version")
    assert mode is not None and mode[0] == "wal"
    assert keys is not None and keys[0] == 1
    assert version is not None and version[0] >= 2


async def test_upsert_customer_keeps_language_unless_given(db: Database) -> None:
    first = await db.upsert_customer("telegram", "42", "Kim", "de")
    again = await db.upsert_customer("telegram", "42", "Kim B.", None)
    assert again.id == first.id and again.language == "de" and again.display_name == "Kim B."
    switched = await db.upsert_customer("telegram", "42", "", "en")
    assert switched.language == "en" and switched.display_name == "Kim B."
    await db.set_customer_language(first.id, "de")
    assert (await db.customer(first.id)) == Customer(first.id, "telegram", "42", "Kim B.", "de", False)


async def test_inbound_is_deduplicated_and_recovered_until_handled(db: Database, customer: Customer) -> None:
    first = await db.record_inbound(
        customer.id, text="Hallo", attachment=None, payload=None, channel_message_id="9", received_at=T0
    )
    again = await db.record_inbound(
        customer.id, text="Hallo", attachment=None, payload=None, channel_message_id="9", received_at=T0
    )
    assert not first.duplicate and again.duplicate and again.id == first.id
    pending = await db.unhandled_inbound()
    assert [(row.id, row.text, row.customer.id) for row in pending] == [(first.id, "Hallo", customer.id)]
    await db.mark_handled(first.id, analysis_json='{"intents": []}', ticket_id=None)
    assert await db.unhandled_inbound() == []
    assert await db.recent_customer_texts(customer.id) == ["Hallo"]


async def test_conversation_state_round_trips(db: Database, customer: Customer) -> None:
    assert await db.load_conversation(customer.id) is None
    await db.save_conversation(customer.id, '{"misses": 1}')
    await db.save_conversation(customer.id, '{"misses": 2}')
    assert await db.load_conversation(customer.id) == '{"misses": 2}'


async def test_check_constraints_reject_unknown_enum_values(db: Database, customer: Customer) -> None:
    ticket = await _ticket(db, customer)
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await tx.execute("UPDATE tickets SET status = 'lost' WHERE id = ?", (ticket.id,))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.record_inbound(
            customer.id, text="", attachment="hologram", payload=None, channel_message_id=None, received_at=T0
        )


async def test_failed_transaction_rolls_back(db: Database, customer: Customer) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.save_conversation(customer.id, "{}")
            raise RuntimeError("boom")
    assert await db.load_conversation(customer.id) is None


async def test_ticket_lifecycle_and_customer_reopening(db: Database, customer: Customer) -> None:
    ticket = await _ticket(db, customer, Priority.HIGH)
    assert ticket.status is TicketStatus.OPEN
    assert ticket.first_response_due == T0 + timedelta(hours=1)
    assert ticket.anger_reasons == ("phrase 'kaputt' (+10)",)
    assert (await db.active_ticket(customer.id)) == ticket
    assert await db.claim(ticket.id, "alice", T0)
    assert not await db.claim(ticket.id, "bob", T0)
    async with db.transaction() as tx:
        await tx.snooze(ticket.id, "alice", T0 + timedelta(hours=2), T0)
    later = await db.record_inbound(
        customer.id, text="und?", attachment=None, payload=None, channel_message_id=None, received_at=T0
    )
    await db.attach_message(ticket.id, later.id, T0 + timedelta(minutes=5))
    reopened = await db.ticket(ticket.id)
    assert reopened is not None
    assert (reopened.status, reopened.assignee) == (TicketStatus.OPEN, None)
    assert reopened.waiting_since == T0 + timedelta(minutes=5)
    kinds = [event.kind for event in await db.ticket_events(ticket.id)]
    assert kinds == ["created", "claimed", "snoozed", "customer_wrote"]
    messages = await db.ticket_messages(ticket.id)
    assert [m.text for m in messages] == ["kaputt", "und?"]


async def test_snoozed_ticket_wakes_into_the_queue(db: Database, customer: Customer) -> None:
    ticket = await _ticket(db, customer)
    async with db.transaction() as tx:
        await tx.snooze(ticket.id, "alice", T0 + timedelta(hours=1), T0)
    assert await db.wake_snoozed(T0 + timedelta(minutes=59)) == []
    assert await db.wake_snoozed(T0 + timedelta(hours=1)) == [ticket.id]
    woken = await db.ticket(ticket.id)
    assert woken is not None and woken.status is TicketStatus.OPEN
    assert woken.waiting_since == T0 + timedelta(hours=1)


async def test_wait_estimate_is_unknown_without_data_then_scales_with_queue(
    db: Database, customer: Customer
) -> None:
    assert await db.wait_estimate(Priority.NORMAL, T0) is None

    # One active ticket per customer (tickets_one_active): each ticket here has a customer of its own.
    async def someone(name: str) -> Customer:
        return await db.upsert_customer("terminal", name, name, "de")

    for count, minutes in enumerate((10, 20, 30), start=1):
        ticket = await _ticket(db, await someone(f"w{count}"), at=T0 - timedelta(hours=2))
        async with db.transaction() as tx:
            await tx.mark_first_response(
                ticket.id, "alice", T0 - timedelta(hours=2) + timedelta(minutes=minutes)
            )
        if count < FIRST_RESPONSE_MINIMUM:  # one or two quick answers are luck, not a typical wait
            assert await db.wait_estimate(Priority.NORMAL, T0) is None
    assert await db.wait_estimate(Priority.NORMAL, T0) == pytest.approx(20)
    await _ticket(db, await someone("urgent"), Priority.URGENT, at=T0 - timedelta(minutes=1))
    await _ticket(db, await someone("low"), Priority.LOW, at=T0 - timedelta(minutes=1))
    # One urgent ticket is ahead of a normal one; the low one is not; no agent acted in the last hour.
    assert await db.wait_estimate(Priority.NORMAL, T0) == pytest.approx(40)
    assert await db.wait_estimate(Priority.URGENT, T0) == pytest.approx(40)
    # Two agents on duty share the queue ahead: 20 * (1 + 2/2).
    for agent in ("alice", "bob"):
        await db.add_event(None, agent, "claimed", None, T0 - timedelta(minutes=10))
    assert await db.wait_estimate(Priority.LOW, T0) == pytest.approx(40)
    assert await db.wait_estimate(Priority.URGENT, T0) == pytest.approx(30)


async def test_outbox_round_trip_with_dedup_and_order(db: Database, customer: Customer) -> None:
    buttons = (Button("1", "rate:1:1"), Button("2", "rate:1:2"))
    ticket = await _ticket(db, customer)
    async with db.transaction() as tx:
        first = await tx.enqueue_outbound(
            customer.id, text="eins", buttons=buttons, author=Author.BOT, dedup_key="reply:1", now=T0
        )
        same = await tx.enqueue_outbound(
            customer.id, text="eins", author=Author.BOT, dedup_key="reply:1", now=T0
        )
        second = await tx.enqueue_outbound(
            customer.id, text="zwei", author=Author.AGENT, agent="alice", now=T0
        )
        staff = await tx.enqueue_staff("ticket_created", ticket.id, {"ticket": ticket.id}, T0)
    assert same == first
    due = await db.due_outbox("terminal", now=T0)
    assert [(item.text, item.recipient, item.buttons) for item in due] == [
        ("eins", "u1", buttons),
        ("zwei", "u1", ()),
    ]
    # A retry scheduled later holds back the younger message to the same customer: order is kept.
    await db.mark_failed(first, "timeout", retry_at=T0 + timedelta(seconds=30), now=T0)
    assert await db.due_outbox("terminal", now=T0) == []
    later = await db.due_outbox("terminal", now=T0 + timedelta(seconds=30))
    assert [item.id for item in later] == [first, second] and later[0].attempts == 1
    await db.mark_sent(first, "m-1", T0)
    await db.mark_failed(second, "blocked by user", retry_at=None, now=T0)
    assert await db.due_outbox("terminal", now=T0 + timedelta(days=1)) == []
    message = await db.message(due[0].message_id or 0)
    assert message is not None and message.channel_message_id == "m-1" and message.sent_at == T0
    (staff_item,) = await db.due_outbox("staff", now=T0)
    assert (staff_item.id, staff_item.kind, staff_item.payload, staff_item.recipient) == (
        staff,
        "ticket_created",
        {"ticket": ticket.id},
        "",
    )


async def test_rating_is_recorded_once_for_the_resolving_agent(db: Database, customer: Customer) -> None:
    ticket = await _ticket(db, customer)
    assert not await db.record_rating(ticket.id, 5, T0, customer_id=customer.id)
    await db.claim(ticket.id, "alice", T0)
    async with db.transaction() as tx:
        await tx.resolve(ticket.id, "alice", T0 + timedelta(hours=1))
    assert await db.pending_rating(customer.id, T0 + timedelta(hours=2)) == ticket.id
    assert await db.pending_rating(customer.id, T0 + timedelta(days=4)) is None
    assert not await db.record_rating(ticket.id, 6, T0 + timedelta(hours=2), customer_id=customer.id)
    assert await db.record_rating(ticket.id, 4, T0 + timedelta(hours=2), customer_id=customer.id)
    assert not await db.record_rating(ticket.id, 5, T0 + timedelta(hours=2), customer_id=customer.id)
    assert await db.pending_rating(customer.id, T0 + timedelta(hours=2)) is None
    other = await db.upsert_customer("terminal", "someone-else", "Eve", "de")
    assert not await db.record_rating(ticket.id, 1, T0 + timedelta(hours=2), customer_id=other.id)
    async with db.snapshot() as tx:
        row = await tx.fetch_one("SELECT rating, agent FROM ratings WHERE ticket_id = ?", (ticket.id,))
    assert row is not None and tuple(row) == (4, "alice")


async def test_staff_thread_bookkeeping(db: Database, customer: Customer) -> None:
    ticket = await _ticket(db, customer)
    await db.set_ticket_thread(ticket.id, "telegram", 777)
    assert await db.ticket_thread(ticket.id, "telegram") == "777"
    found = await db.ticket_by_thread("telegram", "777")
    assert found is not None and found.id == ticket.id
    assert await db.ticket_by_thread("telegram", 778) is None
    message = (await db.ticket_messages(ticket.id))[0]
    await db.link_messages(message.id, "telegram", -100123, 55)
    linked = await db.message_by_external("telegram", "-100123", "55")
    assert linked is not None and linked.id == message.id
    assert await db.message_by_external("telegram", "-100123", "56") is None


async def test_nesting_a_transaction_fails_instead_of_hanging(db: Database, customer: Customer) -> None:
    with pytest.raises(StorageError, match="nested"):
        async with db.transaction():
            await db.load_conversation(customer.id)
    async with db.transaction() as tx:  # the connection is usable again
        await tx.save_conversation(customer.id, "{}")


async def test_tasks_sharing_one_database_take_turns(db: Database, customer: Customer) -> None:
    async def write(n: int) -> None:
        async with db.transaction() as tx:
            await tx.save_conversation(customer.id, f'{{"n": {n}}}')
            await asyncio.sleep(0)  # yield inside the transaction: others must wait, not interleave
            await tx.add_event(None, "bot", "tick", {"n": n}, T0)

    await asyncio.gather(*(write(n) for n in range(20)))
    async with db.snapshot() as tx:
        row = await tx.fetch_one("SELECT count(*) FROM events WHERE kind = 'tick'")
    assert row is not None and row[0] == 20


async def test_closed_database_refuses_work(database_location: Path | str) -> None:
    db = await Database.open(database_location)
    await db.close()
    await db.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        await db.ticket(1)


async def test_one_quick_first_response_gives_no_estimate(db: Database, customer: Customer) -> None:
    """QA: after a single 15-second first response a new customer was told "about 1 minutes"."""
    ticket = await _ticket(db, customer, at=T0 - timedelta(minutes=5))
    async with db.transaction() as tx:
        await tx.mark_first_response(ticket.id, "alice", T0 - timedelta(minutes=5) + timedelta(seconds=15))
    assert FIRST_RESPONSE_MINIMUM == 3
    assert await db.wait_estimate(Priority.NORMAL, T0) is None


async def test_ticket_messages_show_everything_the_customer_saw_in_the_ticket_span(
    db: Database, customer: Customer
) -> None:
    """Bot messages after the hand-over (the acknowledgement) are shown even without a ticket id; messages
    before the ticket are context, messages after its resolution and of other tickets are not shown."""

    async def bot_says(text: str, at: timedelta, ticket_id: int | None = None) -> None:
        async with db.transaction() as tx:
            await tx.enqueue_outbound(
                customer.id, text=text, author=Author.BOT, ticket_id=ticket_id, now=T0 + at
            )

    await bot_says("Hallo! Wie kann ich helfen?", timedelta(minutes=-1))
    ticket = await _ticket(db, customer)
    await bot_says("Danke, Ihre Nachricht ist bei unserem Team angekommen", timedelta(seconds=1))
    async with db.transaction() as tx:
        await tx.enqueue_outbound(
            customer.id,
            text="Wir schauen nach.",
            author=Author.AGENT,
            agent="alice",
            ticket_id=ticket.id,
            now=T0 + timedelta(minutes=5),
        )
        await tx.add_note(ticket.id, "alice", "Störung Nord", T0 + timedelta(minutes=6))
        await tx.resolve(ticket.id, "alice", T0 + timedelta(minutes=10))
    await bot_says("Gern geschehen!", timedelta(minutes=11))  # after resolution: the bot again
    texts = [(m.author.value, m.text) for m in await db.ticket_messages(ticket.id)]
    assert texts == [
        ("bot", "Hallo! Wie kann ich helfen?"),
        ("customer", "kaputt"),
        ("bot", "Danke, Ihre Nachricht ist bei unserem Team angekommen"),
        ("agent", "Wir schauen nach."),
        ("agent", "Störung Nord"),
    ]
    second = await _ticket(db, customer, at=T0 + timedelta(minutes=20))
    assert [m.text for m in await db.ticket_messages(second.id)][-1] == "kaputt"
    assert "Wir schauen nach." not in [m.text for m in await db.ticket_messages(second.id)]
    # While a ticket is active its span runs to now.
    await bot_says("Bitte haben Sie etwas Geduld.", timedelta(minutes=21))
    assert [m.text for m in await db.ticket_messages(second.id)][-1] == "Bitte haben Sie etwas Geduld."


async def test_a_file_that_is_not_sqlite_is_a_clear_storage_error(tmp_path: Path) -> None:
    """SQLite only (PostgreSQL's counterpart, an unreachable server, is in test_postgresql.py)."""
    path = tmp_path / "notes.db"
    path.write_text("this is a text file, not a database\n" * 100, encoding="utf-8")
    with pytest.raises(StorageError, match=r"cannot open the database .*notes\.db: file is not a database"):
        await Database.open(path)


async def test_raise_priority_only_ever_raises_and_shortens_the_targets(
    db: Database, customer: Customer
) -> None:
    ticket = await _ticket(db, customer)
    later = T0 + timedelta(minutes=30)
    async with db.transaction() as tx:
        assert (
            await tx.raise_priority(ticket.id, Priority.HIGH, later, anger=72, why="anger 72")
            is Priority.NORMAL
        )
        assert await tx.raise_priority(ticket.id, Priority.HIGH, later, anger=95, why="anger 95") is None
        assert await tx.raise_priority(ticket.id, Priority.LOW, later, anger=0, why="x") is None
    raised = await db.ticket(ticket.id)
    assert raised is not None
    assert (raised.priority, raised.anger) == (Priority.HIGH, 72)
    assert raised.first_response_due == T0 + timedelta(hours=1)  # high: 1 h from creation, not from now
    events = [e for e in await db.ticket_events(ticket.id) if e.kind == "priority_raised"]
    assert [e.detail for e in events] == [{"from": "normal", "to": "high", "why": "anger 72"}]
    async with db.transaction() as tx:
        assert await tx.withdraw(ticket.id, later)
        assert await tx.raise_priority(ticket.id, Priority.URGENT, later, anger=99, why="x") is None
