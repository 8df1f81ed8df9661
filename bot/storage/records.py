"""Rows as immutable values, plus the time format and the SLA defaults.

Callers get dataclasses, never ``sqlite3.Row``: a row object keeps the cursor's connection in reach and
invites SQL to leak into the service layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.model import Author, Priority, Reason, TicketStatus
from bot.messages import Button


def to_db_time(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so that comparing strings in SQL compares times.

    A naive ``datetime`` is taken to be UTC: every caller in the project passes aware UTC times, and
    refusing naive ones would turn a harmless test shortcut into a crash in production.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """How soon a ticket of one priority must get its first human answer and be resolved."""

    first_response: timedelta
    resolution: timedelta


DEFAULT_SLA: Mapping[Priority, SlaPolicy] = {
    Priority.URGENT: SlaPolicy(timedelta(minutes=15), timedelta(hours=4)),
    Priority.HIGH: SlaPolicy(timedelta(hours=1), timedelta(hours=8)),
    Priority.NORMAL: SlaPolicy(timedelta(hours=4), timedelta(hours=24)),
    Priority.LOW: SlaPolicy(timedelta(hours=8), timedelta(hours=72)),
}
"""Chat customers expect minutes, not the e-mail help desks' days; ``docs/queue.md`` explains the choice."""


class Resolution:
    """How a ticket left the queue (``tickets.resolution``)."""

    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    BLOCKED = "blocked"
    WITHDRAWN = "withdrawn"
    """The customer no longer needed the team ("never mind"): not a resolution by staff."""


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    channel: str
    external_id: str
    display_name: str
    language: str | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    customer_id: int
    status: TicketStatus
    priority: Priority
    reason: Reason
    assignee: str | None
    anger: float
    anger_reasons: tuple[str, ...]
    summary: str
    created_at: datetime
    waiting_since: datetime
    """When the customer started waiting for a human in the current spell; the queue sorts by it."""
    first_response_due: datetime
    resolution_due: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    snoozed_until: datetime | None
    rating_asked_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    id: int
    duplicate: bool
    """True when the channel redelivered a message we already stored; ``id`` is then the stored one."""


@dataclass(frozen=True, slots=True)
class InboundRow:
    id: int
    customer: Customer
    text: str
    attachment: str | None
    payload: str | None
    channel_message_id: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    customer_id: int
    ticket_id: int | None
    author: Author
    agent: str | None
    private: bool
    """An internal note: staff only, never sent to the customer."""
    text: str
    attachment: str | None
    payload: str | None
    buttons: tuple[Button, ...]
    channel_message_id: str | None
    analysis: str | None
    created_at: datetime
    handled_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    recipient: str
    """The customer's external id; empty for the staff channel, which knows its own group."""
    text: str
    buttons: tuple[Button, ...]
    kind: str
    """``message`` for customer messages; the notification kind for the staff channel."""
    payload: Mapping[str, object]
    ticket_id: int | None
    message_id: int | None
    dedup_key: str | None
    attempts: int
    author: Author | None = None
    """Who wrote the message (``None`` for staff-channel notifications)."""


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    """One raw update of a channel's inbox, committed before the platform was told it arrived."""

    id: int
    channel: str
    external_id: str
    chat: str
    """The chat it belongs to (empty if unknown): updates of one chat are processed in order."""
    raw: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Interrupted:
    """An outbox row that was being sent when the process stopped (found on the next start)."""

    outbox_id: int
    resends: int
    """How often it has been sent again after such an interruption, this time included."""
    gave_up: bool
    """Interrupted too often: parked as failed instead of risking yet another duplicate."""


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    ticket_id: int | None
    actor: str
    kind: str
    detail: Mapping[str, object] | None
    created_at: datetime


def buttons_to_json(buttons: tuple[Button, ...] | list[Button]) -> str:
    return json.dumps([[button.label, button.payload] for button in buttons], ensure_ascii=False)


def buttons_from_json(text: str) -> tuple[Button, ...]:
    return tuple(Button(str(label), str(payload)) for label, payload in json.loads(text))
