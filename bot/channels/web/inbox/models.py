"""The JSON API's shapes, as pydantic models: they validate what comes in and write /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 4000
"""Characters of a reply or note: the widget's limit, and under Telegram's 4,096 per message."""


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyIn(_In):
    text: str = Field(
        min_length=1, max_length=MAX_TEXT, description="What the customer reads, signed with your name"
    )
    wait: bool = Field(False, description="Then wait for the customer (status waiting)")


class NoteIn(_In):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="For colleagues; never sent")


class ClaimIn(_In):
    force: bool = Field(False, description="Take over a ticket another agent holds")


class SnoozeIn(_In):
    """Either ``minutes`` from now or an ``until`` time (ISO 8601, UTC unless it says otherwise)."""

    minutes: int | None = Field(None, ge=1, le=90 * 24 * 60)
    until: datetime | None = None


class BlockIn(_In):
    undo: bool = Field(False, description="Unblock instead")


class LoginIn(_In):
    name: str
    password: str


# --- responses ---------------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, in a sentence for people")


class MeOut(BaseModel):
    name: str
    admin: bool
    csrf_token: str | None = Field(description="Send as X-CSRF-Token on changes; null with an API token")


class CustomerOut(BaseModel):
    id: int
    name: str
    channel: str
    language: str | None
    blocked: bool


class TicketOut(BaseModel):
    id: int
    status: str
    priority: str
    reason: str
    assignee: str | None
    summary: str
    anger: float
    anger_reasons: list[str]
    created_at: datetime
    waiting_since: datetime
    waiting_seconds: float
    first_response_due: datetime
    first_response_at: datetime | None
    overdue: bool = Field(description="No first response yet and its due time has passed")
    snoozed_until: datetime | None
    resolved_at: datetime | None
    customer: CustomerOut
    last_customer_text: str = ""
    viewers: list[str] = Field(default_factory=list, description="Other agents who have it open now")


class Counts(BaseModel):
    mine: int
    unassigned: int
    all: int


class TicketListOut(BaseModel):
    view: Literal["mine", "unassigned", "all"]
    counts: Counts
    tickets: list[TicketOut]


class IntentScore(BaseModel):
    intent: str
    score: float


class AnalysisOut(BaseModel):
    """What the bot saw in a customer's message (``queue show``'s "bot saw" line, as data)."""

    summary: str = Field(description="One line, as `python -m bot queue show` prints it")
    intents: list[IntentScore]
    language: str | None
    anger: float
    anger_reasons: list[str]
    wants_human: bool


class MessageOut(BaseModel):
    id: int
    author: Literal["customer", "bot", "agent"]
    agent: str | None
    private: bool = Field(description="An internal note")
    text: str
    attachment: str | None
    button_pressed: str | None
    buttons: list[str]
    created_at: datetime
    delivered: bool | None = Field(description="For the bot's and agents' messages: reached the customer")
    ticket_id: int | None
    analysis: AnalysisOut | None


class EventOut(BaseModel):
    id: int
    actor: str
    kind: str
    text: str = Field(description="The detail in words, as `queue show` prints it")
    created_at: datetime


class EarlierTicket(BaseModel):
    id: int
    status: str
    reason: str
    summary: str
    created_at: datetime


class TicketDetailOut(BaseModel):
    ticket: TicketOut
    earlier_tickets: list[EarlierTicket]
    messages: list[MessageOut]
    events: list[EventOut]
    rating: int | None
    undelivered: int
    warnings: list[str] = Field(description="Someone else has it open or holds it")


class ActionOut(BaseModel):
    message: str
    ticket: TicketOut
    next_ticket: int | None = Field(None, description="resolve-and-next: the ticket to open now, if any")


class DayVolume(BaseModel):
    day: str
    messages: int
    tickets: int


class HourVolume(BaseModel):
    hour: int
    messages: int
    tickets: int


class StatsOut(BaseModel):
    days: int
    per_day: list[DayVolume]
    per_hour: list[HourVolume] = Field(description="UTC hours of the day, summed over the period")
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None
    conversations: int
    bot_resolved: int
    bot_resolved_share: float | None
    ratings: int
    csat_average: float | None
    overdue_first_response: int
    active_by_priority: dict[str, dict[str, int]]
    outbox_pending: int
    outbox_failed: int
