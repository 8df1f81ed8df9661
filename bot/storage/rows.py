"""Rows to records: the one place that knows how a stored row becomes a :mod:`bot.storage.records` value."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from bot.core.model import Author, Priority, Reason, TicketStatus
from bot.storage.records import (
    Customer,
    Event,
    StoredMessage,
    Ticket,
    buttons_from_json,
    from_db_time,
    opt_time,
)


class Row(Protocol):
    """What a stored row offers on both engines (``Row``, :class:`bot.storage.postgres.PgRow`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def customer_from_row(row: Row, prefix: str = "") -> Customer:
    """``prefix`` reads columns aliased in a join (``c_id``, ``c_channel`` …)."""
    return Customer(
        id=row[prefix + "id"],
        channel=row[prefix + "channel"],
        external_id=row[prefix + "external_id"],
        display_name=row[prefix + "display_name"],
        language=row[prefix + "language"],
        blocked=bool(row[prefix + "blocked"]),
    )


def ticket_from_row(row: Row) -> Ticket:
    return Ticket(
        id=row["id"],
        customer_id=row["customer_id"],
        status=TicketStatus(row["status"]),
        priority=Priority(row["priority"]),
        reason=Reason(row["reason"]),
        assignee=row["assignee"],
        anger=float(row["anger"]),
        anger_reasons=tuple(json.loads(row["anger_reasons"])),
        summary=row["summary"],
        created_at=from_db_time(row["created_at"]),
        waiting_since=from_db_time(row["waiting_since"]),
        first_response_due=from_db_time(row["first_response_due"]),
        resolution_due=from_db_time(row["resolution_due"]),
        first_response_at=opt_time(row["first_response_at"]),
        resolved_at=opt_time(row["resolved_at"]),
        resolution=row["resolution"],
        snoozed_until=opt_time(row["snoozed_until"]),
        rating_asked_at=opt_time(row["rating_asked_at"]),
        updated_at=from_db_time(row["updated_at"]),
    )


def message_from_row(row: Row) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        customer_id=row["customer_id"],
        ticket_id=row["ticket_id"],
        author=Author(row["author"]),
        agent=row["agent"],
        private=bool(row["private"]),
        text=row["text"],
        attachment=row["attachment"],
        payload=row["payload"],
        buttons=buttons_from_json(row["buttons"]),
        channel_message_id=row["channel_message_id"],
        analysis=row["analysis"],
        created_at=from_db_time(row["created_at"]),
        handled_at=opt_time(row["handled_at"]),
        sent_at=opt_time(row["sent_at"]),
    )


def event_from_row(row: Row) -> Event:
    detail = row["detail"]
    return Event(
        id=row["id"],
        ticket_id=row["ticket_id"],
        actor=row["actor"],
        kind=row["kind"],
        detail=None if detail is None else json.loads(detail),
        created_at=from_db_time(row["created_at"]),
    )


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
