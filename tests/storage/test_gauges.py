"""The figures a metrics scrape reads: outbox depth, oldest waiting row and open tickets, on a real file."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.model import Author, Priority, Reason
from bot.storage import Database, StorageError
from bot.storage.gauges import OutboxFigures, ping, queue_figures

from .conftest import T0


async def _ticket(db: Database, user: str, priority: Priority) -> int:
    customer = await db.upsert_customer("test", user, user, "de")
    message = await db.record_inbound(
        customer.id, text="kaputt", attachment=None, payload=None, channel_message_id=None, received_at=T0
    )
    ticket = await db.create_ticket(
        customer.id,
        reason=Reason.UNMATCHED,
        priority=priority,
        anger=0,
        anger_reasons=[],
        summary="kaputt",
        first_message_id=message.id,
        now=T0,
    )
    return ticket.id


async def test_an_empty_database_has_nothing_waiting(db: Database) -> None:
    figures = await queue_figures(db)
    assert figures.outbox == () and figures.tickets == {}


async def test_outbox_depth_and_oldest_pending_per_channel(db: Database) -> None:
    anna = await db.upsert_customer("test", "anna", "Anna", "de")
    first = await db.enqueue_outbound(anna.id, text="eins", author=Author.BOT, now=T0)
    await db.enqueue_outbound(anna.id, text="zwei", author=Author.BOT, now=T0 + timedelta(minutes=1))
    gone = await db.enqueue_outbound(anna.id, text="drei", author=Author.BOT, now=T0 + timedelta(minutes=2))
    await db.mark_failed(gone, "blocked", retry_at=None, now=T0 + timedelta(minutes=3))
    await db.mark_sent(first, "m1", T0 + timedelta(minutes=4))
    bert = await db.upsert_customer("other", "bert", "Bert", "de")
    await db.enqueue_outbound(bert.id, text="hallo", author=Author.BOT, now=T0 + timedelta(hours=1))

    figures = await queue_figures(db)

    assert figures.outbox == (  # the sent and the failed row are not waiting
        OutboxFigures("other", pending=1, oldest_pending=T0 + timedelta(hours=1)),
        OutboxFigures("test", pending=1, oldest_pending=T0 + timedelta(minutes=1)),
    )


async def test_open_tickets_by_priority_and_status_leave_resolved_ones_out(db: Database) -> None:
    await _ticket(db, "a", Priority.URGENT)
    await _ticket(db, "b", Priority.URGENT)
    claimed = await _ticket(db, "c", Priority.NORMAL)
    assert await db.claim(claimed, "alice", T0)
    done = await _ticket(db, "d", Priority.LOW)
    async with db.transaction() as tx:
        await tx.resolve(done, "alice", T0)

    figures = await queue_figures(db)

    assert figures.tickets == {("urgent", "open"): 2, ("normal", "assigned"): 1}


async def test_ping_answers_and_fails_on_a_closed_database(db: Database) -> None:
    await ping(db)
    await db.close()
    with pytest.raises(StorageError):
        await ping(db)
