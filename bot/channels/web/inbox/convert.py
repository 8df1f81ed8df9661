"""Rows as the API's JSON shapes (analyses and events worded as `queue show` words them)."""

from __future__ import annotations

import json
from datetime import datetime

from bot.channels.web.inbox.models import (
    AnalysisOut,
    CustomerOut,
    EventOut,
    IntentScore,
    MessageOut,
    TicketOut,
)
from bot.core.agents import agent_display
from bot.core.model import TicketStatus
from bot.service.describe import describe_analysis, describe_event
from bot.storage import Customer, Event, StoredMessage, Ticket

# --- converting rows -------------------------------------------------------------------------------------


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.display_name,
        channel=customer.channel,
        language=customer.language,
        blocked=customer.blocked,
    )


def ticket_out(
    ticket: Ticket,
    customer: Customer,
    now: datetime,
    *,
    last_text: str = "",
    viewers: list[str] | None = None,
) -> TicketOut:
    return TicketOut(
        id=ticket.id,
        status=ticket.status.value,
        priority=ticket.priority.value,
        reason=ticket.reason.value,
        assignee=ticket.assignee,
        summary=ticket.summary,
        anger=ticket.anger,
        anger_reasons=list(ticket.anger_reasons),
        created_at=ticket.created_at,
        waiting_since=ticket.waiting_since,
        waiting_seconds=max(0.0, (now - ticket.waiting_since).total_seconds()),
        first_response_due=ticket.first_response_due,
        first_response_at=ticket.first_response_at,
        overdue=ticket.status is not TicketStatus.RESOLVED
        and ticket.first_response_at is None
        and ticket.first_response_due <= now,
        snoozed_until=ticket.snoozed_until,
        resolved_at=ticket.resolved_at,
        customer=customer_out(customer),
        last_customer_text=last_text,
        viewers=viewers or [],
    )


def analysis_out(raw: str | None) -> AnalysisOut | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return AnalysisOut(
            summary=raw, intents=[], language=None, anger=0, anger_reasons=[], wants_human=False
        )
    intents = [
        IntentScore(intent=str(i.get("intent")), score=float(i.get("score", 0)))
        for i in data.get("intents") or []
        if isinstance(i, dict)
    ]
    return AnalysisOut(
        summary=describe_analysis(raw),
        intents=intents,
        language=data.get("language") if isinstance(data.get("language"), str) else None,
        anger=float(data.get("anger") or 0),
        anger_reasons=[str(r) for r in data.get("anger_reasons") or []],
        wants_human=bool(data.get("wants_human")),
    )


def message_out(message: StoredMessage) -> MessageOut:
    return MessageOut(
        id=message.id,
        author=message.author.value,
        # People read the name; the identity in brackets (Telegram staff) is for the rules.
        agent=agent_display(message.agent) if message.agent else None,
        private=message.private,
        text=message.text,
        attachment=message.attachment,
        button_pressed=message.payload,
        buttons=[b.label for b in message.buttons],
        created_at=message.created_at,
        delivered=None
        if message.author.value == "customer" or message.private
        else message.sent_at is not None,
        ticket_id=message.ticket_id,
        analysis=analysis_out(message.analysis),
    )


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        actor=event.actor,
        kind=event.kind,
        text=describe_event(event),
        created_at=event.created_at,
    )
