"""What a widget visitor can do, whatever the transport (WebSocket or the SSE + POST fallback).

One place decides: who the visitor is (the signed token), what they may send (rate limits, offered buttons),
when it is acknowledged (after the commit, through ``ConversationService.handle``'s ``on_stored``), and what
they read (their numbered conversation from a sequence number on).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from bot.channels.base import Inbound
from bot.channels.web import tokens
from bot.channels.web.channel import NAME, WebChannel
from bot.channels.web.config import WebConfig
from bot.channels.web.protocol import FrameError, Identify, Say, message_frame
from bot.channels.web.ratelimit import RateLimiter
from bot.core.model import TicketStatus
from bot.service.engine import ConversationService
from bot.storage import Customer, Database, RecordedMessage
from bot.storage.web import last_seq, message_seq, messages_after, offered_payloads, web_key

log = logging.getLogger(__name__)

LABELS = (
    "web_title",
    "web_intro",
    "web_launcher",
    "web_close",
    "web_message",
    "web_send",
    "web_typing",
    "web_label_bot",
    "web_label_team",
    "web_label_you",
    "web_offline",
    "web_pending",
    "web_rate_limited",
    "web_too_long",
    "web_attachments",
    "web_unavailable",
    "web_unread",
)
"""The catalogue messages the widget shows itself; placeholders such as $seconds stay for the widget."""

Send = Callable[[dict[str, object]], Awaitable[None]]
P = ParamSpec("P")
R = TypeVar("R")


def _shielded(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Database work that finishes even when the caller is cancelled.

    Connections end by cancellation (a browser closes an event stream, a widget's reader stops its pump);
    a transaction cut off between ``BEGIN`` and ``COMMIT`` would stay open on the shared connection and
    break every later one, and a turn cut off halfway would wait for the next start to be answered.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.shield(method(*args, **kwargs))

    return wrapper


@dataclass(frozen=True, slots=True)
class Session:
    """An open widget: the verified visitor and their customer row."""

    visitor: tokens.Visitor
    customer: Customer
    address: str


class WebVisitors:
    def __init__(
        self,
        db: Database,
        conversation: ConversationService,
        channel: WebChannel,
        config: WebConfig,
        *,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """``wake`` nudges the outbox sender after a turn, so replies are marked delivered at once."""
        self.db = db
        self.conversation = conversation
        self.channel = channel
        self.config = config
        self._wake = wake
        self._secret = config.secret
        self._per_visitor = RateLimiter(config.limits.visitor)
        self._per_address = RateLimiter(config.limits.address)
        self._new_visitors = RateLimiter(config.limits.new_visitor)

    @_shielded
    async def secret(self) -> str:
        if self._secret is None:
            async with self.db.transaction() as tx:
                self._secret = await web_key(tx, "visitor_tokens", datetime.now(UTC))
        return self._secret

    # --- who ---------------------------------------------------------------------------------------------

    @_shielded
    async def new_token(self, address: str) -> str:
        """A token for a new visitor (no database row yet: that comes with the first connection)."""
        wait = self._new_visitors.take(address)
        if wait:
            raise FrameError(
                "rate_limited", "too many new visitors from this address", retry_after=_secs(wait)
            )
        return tokens.issue(await self.secret(), tokens.new_visitor_id())

    async def visitor(self, token: str) -> tokens.Visitor:
        try:
            return tokens.verify(await self.secret(), token, max_age_days=self.config.token_days)
        except tokens.TokenError as error:
            raise FrameError("bad_token", str(error)) from None

    @_shielded
    async def open(self, visitor: tokens.Visitor, language: str | None, address: str) -> Session:
        """The visitor's customer row (created on first contact) and the greeting, once per conversation."""
        hint = language.split("-")[0].lower() if language else None
        inbound = Inbound(channel=NAME, user_id=visitor.id, language_hint=hint)
        await self.conversation.greet(inbound, again=False)
        self._wake()
        customer = await self.db.customer_by_external(NAME, visitor.id)
        assert customer is not None, "greet() stores the customer"
        return Session(visitor, customer, address)

    async def renew(self, session: Session) -> str:
        """A fresh token for the same visitor: an active visitor's token never expires."""
        return tokens.issue(await self.secret(), session.visitor.id)

    @_shielded
    async def identify(self, session: Session, frame: Identify) -> str:
        """A token for the identified person's own conversation, or :class:`FrameError` for a wrong hash.

        The person's conversation is the same on every device (visitor id ``user-<hex of their id>``).
        The name becomes the customer's display name; the e-mail address is checked for form only and not
        stored (nothing reads it yet, so the bot keeps nothing it does not need).
        """
        if not tokens.identity_valid(self.config.identity_secret, frame.user_id, frame.hash):
            raise FrameError("identity_rejected", "identify ignored: the hash does not match this user id")
        visitor_id = tokens.identified_visitor_id(frame.user_id)
        async with self.db.transaction() as tx:
            await tx.upsert_customer(NAME, visitor_id, frame.name.strip()[:200], None)
        return tokens.issue(await self.secret(), visitor_id)

    # --- what they send ----------------------------------------------------------------------------------

    def _check_rate(self, session: Session, client_id: str) -> None:
        wait = max(self._per_visitor.take(session.visitor.id), self._per_address.take(session.address))
        if wait:
            raise FrameError(
                "rate_limited",
                f"too many messages; send this one again in {_secs(wait)} s",
                client_id=client_id,
                retry_after=_secs(wait),
            )

    @_shielded
    async def say(self, session: Session, frame: Say, on_stored: Send) -> None:
        """Store, acknowledge (after the commit), then run the turn. A retried id is acknowledged again
        with its first number and never stored or answered twice."""
        self._check_rate(session, frame.client_id)
        if frame.payload is not None:
            async with self.db.snapshot() as tx:
                offered = await offered_payloads(tx, session.customer.id)
            if frame.payload not in offered:
                raise FrameError(
                    "bad_payload", "that button was not offered to you", client_id=frame.client_id
                )

        async def stored(recorded: RecordedMessage) -> None:
            async with self.db.snapshot() as tx:
                seq = await message_seq(tx, recorded.id)
            try:
                await on_stored(
                    {"type": "ack", "id": frame.client_id, "seq": seq, "duplicate": recorded.duplicate}
                )
            except Exception:  # the client went away: the turn still runs; a retry gets the ack
                log.debug("could not acknowledge %s", frame.client_id, exc_info=True)

        inbound = Inbound(
            channel=NAME,
            user_id=session.visitor.id,
            text=frame.text,
            payload=frame.payload,
            message_id=frame.client_id,
        )
        await self.conversation.handle(inbound, on_stored=stored)
        self.channel.notify(session.visitor.id)
        self._wake()

    # --- what they read ----------------------------------------------------------------------------------

    @_shielded
    async def since(self, session: Session, after: int) -> list[dict[str, object]]:
        async with self.db.snapshot() as tx:
            messages = await messages_after(tx, session.customer.id, after)
        return [message_frame(m) for m in messages]

    @_shielded
    async def last_seq(self, session: Session) -> int:
        async with self.db.snapshot() as tx:
            return await last_seq(tx, session.customer.id)

    @_shielded
    async def status(self, session: Session) -> dict[str, object]:
        """The hand-over bar: the open ticket's number, state and an honest wait estimate, or none."""
        brain = self.conversation.brain
        async with self.db.snapshot() as tx:
            ticket = await tx.active_ticket(session.customer.id)
            customer = await tx.customer(session.customer.id)
            if ticket is None:
                return {"type": "status", "ticket": None}
            minutes = None
            if ticket.status is TicketStatus.OPEN:
                minutes = await tx.wait_estimate(ticket.priority, datetime.now(UTC))
        language = brain.renderer.language(customer.language if customer else None)
        values = {"ticket_id": str(ticket.id), "eta": ""}
        if ticket.status is TicketStatus.OPEN:
            values["eta"] = brain.renderer.eta(minutes, language)
        text = brain.renderer.message("web_ticket", language, values).strip()
        return {
            "type": "status",
            "ticket": {"id": ticket.id, "status": ticket.status.value, "text": text},
        }

    def labels(self) -> dict[str, object]:
        """The widget's own texts per language, from the editors' catalogue as it is now."""
        brain = self.conversation.brain
        languages = list(brain.content.settings.languages)
        return {
            "default": brain.content.settings.default_language,
            "texts": {
                lang: {name.removeprefix("web_"): brain.renderer.message(name, lang) for name in LABELS}
                for lang in languages
            },
        }


def _secs(wait: float) -> int:
    return max(1, int(wait + 0.999))
