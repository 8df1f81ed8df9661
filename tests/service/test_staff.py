"""Staff actions on a real SQLite file: ownership, customer messages via the outbox, events, notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.messages import MESSAGES
from bot.core.model import Content, Priority, Reason, Settings, TicketStatus, ToneLexicon
from bot.core.render import Renderer
from bot.service.staff import MAX_SNOOZE, StaffError, StaffService, TicketHeld
from bot.storage import Customer, Database, Ticket

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
TEXTS = {
    "agent_reply": "$agent (support): $text",
    "resolved": "Your ticket is closed.",
    "rate": "How did we do?",
    "back_to_bot": "You are talking to the assistant again.",
}


def content() -> Content:
    messages = {name: {"en": TEXTS.get(name, f"<{name}>")} for name in MESSAGES}
    return Content(
        intents=(), messages=messages, variables={}, tone=ToneLexicon(), settings=Settings(languages=("en",))
    )


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def staff(db: Database, clock: Clock) -> StaffService:
    renderer = Renderer(content())
    return StaffService(db, lambda: renderer, clock=clock)


async def _open_ticket(db: Database, name: str = "u1", display: str = "Kim") -> tuple[Customer, Ticket]:
    customer = await db.upsert_customer("terminal", name, display, "en")
    message = await db.record_inbound(
        customer.id, text="help", attachment=None, payload=None, channel_message_id=None, received_at=NOW
    )
    ticket = await db.create_ticket(
        customer.id,
        reason=Reason.REQUESTED,
        priority=Priority.NORMAL,
        anger=0,
        anger_reasons=(),
        summary="help",
        first_message_id=message.id,
        now=NOW,
    )
    return customer, ticket


async def _outbox(db: Database) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (item.text, tuple(b.payload for b in item.buttons))
        for item in await db.due_outbox("terminal", now=LATER)
    ]


async def _staff_texts(db: Database) -> list[str]:
    return [str(item.payload["text"]) for item in await db.due_outbox("staff", now=LATER)]


async def test_reply_claims_an_open_ticket_and_stamps_first_response(
    db: Database, staff: StaffService, clock: Clock
) -> None:
    _, ticket = await _open_ticket(db)
    clock.now = NOW + timedelta(minutes=7)
    await staff.reply(ticket.id, "alice", "  We are on it.  ")
    after = await db.ticket(ticket.id)
    assert after is not None
    assert (after.status, after.assignee, after.first_response_at) == (
        TicketStatus.ASSIGNED,
        "alice",
        NOW + timedelta(minutes=7),
    )
    assert await _outbox(db) == [("alice (support): We are on it.", ())]
    assert await _staff_texts(db) == ["↩️ alice replied:\nWe are on it."]
    clock.now = NOW + timedelta(minutes=9)
    await staff.reply(ticket.id, "alice", "Done soon.")
    again = await db.ticket(ticket.id)
    assert again is not None and again.first_response_at == NOW + timedelta(minutes=7)
    with pytest.raises(TicketHeld) as held:
        await staff.reply(ticket.id, "bob", "Me too")
    # Every surface shows this message; none of them should show another one's syntax.
    assert str(held.value) == f"ticket #{ticket.id} is assigned with alice; take it over first"


async def test_claim_is_exclusive_unless_forced(db: Database, staff: StaffService) -> None:
    _, ticket = await _open_ticket(db)
    assert await staff.claim(ticket.id, "alice")
    assert await staff.claim(ticket.id, "alice")  # already hers
    assert not await staff.claim(ticket.id, "bob")
    assert await staff.claim(ticket.id, "bob", force=True)
    after = await db.ticket(ticket.id)
    assert after is not None and after.assignee == "bob"
    kinds = [(e.kind, e.actor, e.detail) for e in await db.ticket_events(ticket.id)]
    assert kinds[-2:] == [("claimed", "alice", None), ("claimed", "bob", {"previous_assignee": "alice"})]
    with pytest.raises(StaffError, match="no ticket"):
        await staff.claim(999, "alice")


async def test_resolve_asks_for_a_rating_with_buttons(
    db: Database, staff: StaffService, clock: Clock
) -> None:
    customer, ticket = await _open_ticket(db)
    await staff.claim(ticket.id, "alice")
    clock.now = NOW + timedelta(hours=1)
    await staff.resolve(ticket.id, "alice")
    rate = tuple(f"rate:{ticket.id}:{n}" for n in range(1, 6))
    assert await _outbox(db) == [("Your ticket is closed.", ()), ("How did we do?", rate)]
    assert await db.pending_rating(customer.id, clock.now) == ticket.id
    assert await db.record_rating(ticket.id, 5, clock.now, customer_id=customer.id)
    with pytest.raises(StaffError, match="resolved"):
        await staff.resolve(ticket.id, "alice")


async def test_note_snooze_reopen_and_handback(db: Database, staff: StaffService, clock: Clock) -> None:
    customer, ticket = await _open_ticket(db)
    await staff.note(ticket.id, "bob", "Called them, no answer")
    await staff.claim(ticket.id, "alice")
    with pytest.raises(StaffError, match="future"):
        await staff.snooze(ticket.id, "alice", NOW - timedelta(minutes=1))
    await staff.snooze(ticket.id, "alice", NOW + timedelta(days=1))
    snoozed = await db.ticket(ticket.id)
    assert snoozed is not None and snoozed.status is TicketStatus.SNOOZED
    await staff.reopen(ticket.id, "carol")
    reopened = await db.ticket(ticket.id)
    assert reopened is not None and (reopened.status, reopened.assignee) == (TicketStatus.OPEN, None)
    with pytest.raises(StaffError, match="already open"):
        await staff.reopen(ticket.id, "carol")
    await staff.handback(ticket.id, "carol")
    closed = await db.ticket(ticket.id)
    assert closed is not None and (closed.status, closed.resolution) == (TicketStatus.RESOLVED, "handed_back")
    assert await _outbox(db) == [("You are talking to the assistant again.", ())]
    assert await db.pending_rating(customer.id, NOW) is None
    notes = [m for m in await db.ticket_messages(ticket.id) if m.private]
    assert [(m.agent, m.text) for m in notes] == [("bob", "Called them, no answer")]
    kinds = [event.kind for event in await db.ticket_events(ticket.id)]
    assert kinds == ["created", "note", "claimed", "snoozed", "reopened", "handed_back"]
    assert len(await _staff_texts(db)) == 5


async def test_block_closes_active_tickets_silently(db: Database, staff: StaffService) -> None:
    customer, ticket = await _open_ticket(db)
    assert await staff.block(customer.id, "alice") == [ticket.id]
    blocked = await db.customer(customer.id)
    assert blocked is not None and blocked.blocked
    closed = await db.ticket(ticket.id)
    assert closed is not None and closed.resolution == "blocked"
    assert await _outbox(db) == []
    with pytest.raises(StaffError, match="blocked"):
        await staff.reopen(ticket.id, "alice")
    assert await staff.block(customer.id, "alice", blocked=False) == []
    with pytest.raises(StaffError, match="no customer"):
        await staff.block(999, "alice")


async def test_without_a_staff_group_no_notifications_pile_up(db: Database) -> None:
    _, ticket = await _open_ticket(db)
    quiet = StaffService(db, lambda: Renderer(content()), notify_staff=False)
    assert await quiet.claim(ticket.id, "alice")
    await quiet.note(ticket.id, "alice", "internal")
    assert await _staff_texts(db) == []


async def test_claim_next_takes_the_head_of_the_queue(db: Database, staff: StaffService) -> None:
    _, first = await _open_ticket(db, "u1")
    _, second = await _open_ticket(db, "u2")
    taken = await staff.claim_next("alice")
    assert taken is not None and (taken.id, taken.assignee, taken.status) == (
        first.id,
        "alice",
        TicketStatus.ASSIGNED,
    )
    again = await staff.claim_next("bob")
    assert again is not None and again.id == second.id
    assert await staff.claim_next("carol") is None


async def test_block_by_ticket_blocks_the_customer_who_wrote_it(db: Database, staff: StaffService) -> None:
    """QA: `queue block 4` took 4 as a customer number and blocked someone else."""
    await _open_ticket(db, "u1")
    await _open_ticket(db, "u2")
    bystander = await db.upsert_customer("terminal", "u3", "Quiet", "en")  # customer #3, no ticket
    writer, spam = await _open_ticket(db, "u4", "Spam Bot")
    assert spam.id == bystander.id != writer.id  # ticket #3 is customer #4's; customer #3 is someone else
    customer, closed = await staff.block_ticket_customer(spam.id, "alice")
    assert (customer.id, customer.display_name, closed) == (writer.id, "Spam Bot", [spam.id])
    blocked = await db.customer(writer.id)
    assert blocked is not None and blocked.blocked
    untouched = await db.customer(bystander.id)
    assert untouched is not None and not untouched.blocked
    customer, closed = await staff.block_ticket_customer(spam.id, "alice", blocked=False)
    unblocked = await db.customer(writer.id)
    assert unblocked is not None and not unblocked.blocked and closed == []
    with pytest.raises(StaffError, match="no ticket #99"):
        await staff.block_ticket_customer(99, "alice")


async def test_snooze_is_capped(db: Database, staff: StaffService) -> None:
    _, ticket = await _open_ticket(db)
    with pytest.raises(StaffError, match="at most 90 days"):
        await staff.snooze(ticket.id, "alice", NOW + MAX_SNOOZE + timedelta(minutes=1))
    unchanged = await db.ticket(ticket.id)
    assert unchanged is not None and unchanged.status is TicketStatus.OPEN
    await staff.snooze(ticket.id, "alice", NOW + MAX_SNOOZE)


async def test_a_reply_with_a_lone_surrogate_is_sent_with_a_replacement_character(
    db: Database, staff: StaffService
) -> None:
    _, ticket = await _open_ticket(db)
    await staff.claim(ticket.id, "alice")
    await staff.reply(ticket.id, "alice", "Ihre Nummer \ud800 ist notiert")
    assert any("Ihre Nummer \ufffd ist notiert" in text for text, _ in await _outbox(db))
