"""Runs one customer turn across the layers: store, analyse, decide, queue the replies.

The order is what makes the bot trustworthy:

1. The inbound message is committed before anything acts on it (a crash after this loses nothing:
   :meth:`ConversationService.recover` picks it up on the next start).
2. Analysis, decision, ticket, rendered replies, new conversation state and the "handled" mark are written
   in ONE transaction, so a crash either redoes the whole turn or none of it.
3. Replies are not sent here: they sit in the outbox until :class:`bot.service.delivery.OutboxSender`
   delivers them, so a crash between deciding and sending never loses a reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.content.brain import Brain
from bot.core.model import Analysis, Author, Lang, Priority, Reason
from bot.core.policy import (
    HUMAN,
    INTENT_PREFIX,
    WITHDRAW,
    Action,
    Clarify,
    ConversationState,
    Escalate,
    ForwardToTicket,
    RaisePriority,
    RecordRating,
    SendAnswer,
    SendMessage,
    Situation,
    Turn,
    Withdraw,
)
from bot.messages import Button, Inbound
from bot.service.clock import Clock, utcnow
from bot.service.metrics import Metrics
from bot.storage import Customer, Database, RecordedMessage, StorageUnavailable, Tx, is_retryable

log = logging.getLogger(__name__)

TURN_RETRIES = 3
"""How often a turn PostgreSQL rolled back for a deadlock or serialization failure is run again."""


@dataclass(frozen=True, slots=True)
class TurnReport:
    """What happened to one inbound message; returned for tests, logs and the terminal's debug view."""

    message_id: int
    outcome: str
    explanation: str
    ticket_id: int | None = None
    duplicate: bool = False
    answered: tuple[str, ...] = ()
    """The intents the bot answered, in order (several when one message asked several things)."""


def analysis_json(
    analysis: Analysis | None, outcome: str | None = None, answered: tuple[str, ...] = ()
) -> str | None:
    """The bot's view of a message as stored for staff: what it tried, with scores and reasons.

    ``outcome`` and ``answered`` (the intents the bot answered) are what the statistics count: a
    conversation is "resolved by the bot alone" only if the bot answered something and no ticket followed.
    """
    if analysis is None:
        if outcome is None:
            return None
        return json.dumps({"outcome": outcome, "answered": list(answered)}, ensure_ascii=False)
    return json.dumps(
        {
            "outcome": outcome,
            "answered": list(answered),
            "language": analysis.language,
            "intents": [
                {"intent": c.intent_id, "score": round(c.score, 1), "example": c.example}
                for c in analysis.match.candidates
            ],
            "blocked": list(analysis.match.blocked),
            "anger": round(analysis.tone.anger, 1),
            "anger_reasons": list(analysis.tone.reasons),
            "wants_human": analysis.tone.wants_human,
        },
        ensure_ascii=False,
    )


@dataclass(slots=True)
class _TurnContext:
    """What every action of one turn needs; ``ticket_id`` follows the ticket the turn creates."""

    tx: Tx
    customer: Customer
    brain: Brain
    language: Lang
    message_id: int
    inbound: Inbound
    analysis: Analysis | None
    now: datetime
    ticket_id: int | None
    unanswered: int
    """Messages in a row the bot could not answer before this one (for the ticket summary)."""
    held: str | None = None
    """An escalating intent's answer, waiting to be sent as one message with the hand-over."""


class ConversationService:
    """The customer side of the bot, independent of any channel."""

    def __init__(
        self,
        db: Database,
        brain: Brain,
        *,
        notify_staff: bool = False,
        clock: Clock = utcnow,
        on_enqueued: Callable[[], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``metrics``: the process's counters (its ``/metrics``); a private set when not given."""
        self.db = db
        self.metrics = metrics or Metrics()
        self.brain = brain
        self.notify_staff = notify_staff
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._locks: dict[int, asyncio.Lock] = {}

    def swap_brain(self, brain: Brain) -> None:
        """Serve a reloaded folder from the next message on; turns in flight keep their brain."""
        self.brain = brain

    def _lock(self, customer_id: int) -> asyncio.Lock:
        # One turn at a time per customer keeps replies in order; different customers run concurrently.
        # Within a process this lock queues the turns; across replicas (PostgreSQL) each turn's transaction
        # also takes tx.lock("customer", id), which SQLite does not need (one writer at a time anyway).
        return self._locks.setdefault(customer_id, asyncio.Lock())

    async def _customer(self, inbound: Inbound) -> Customer:
        async with self.db.transaction() as tx:
            return await tx.upsert_customer(
                inbound.channel, inbound.user_id, inbound.display_name, inbound.language_hint
            )

    async def handle(
        self,
        inbound: Inbound,
        *,
        on_stored: Callable[[RecordedMessage], Awaitable[None]] | None = None,
    ) -> TurnReport:
        """Store ``inbound`` durably, then run the turn. Redelivered updates are recognised and skipped.

        ``on_stored`` runs after the message is committed and before the turn (also for a duplicate): a
        channel that acknowledges messages (the web widget) acknowledges exactly then, never earlier.
        """
        arrived = time.perf_counter()
        customer = await self._customer(inbound)
        recorded = await self.db.record_inbound(
            customer.id,
            text=inbound.text,
            attachment=inbound.attachment,
            payload=inbound.payload,
            channel_message_id=inbound.message_id,
            received_at=inbound.received_at,
        )
        self.metrics.received(inbound.channel, duplicate=recorded.duplicate)
        if on_stored is not None:
            await on_stored(recorded)
        if recorded.duplicate:
            return TurnReport(recorded.id, "duplicate", "already stored", duplicate=True)
        with self.metrics.turn(inbound.channel, since=arrived):
            return await self._safe_turn(customer, recorded.id, inbound)

    async def recover(self) -> list[TurnReport]:
        """Finish turns that a crash interrupted: every stored but unhandled message, oldest first."""
        reports = []
        for row in await self.db.unhandled_inbound(limit=10_000):
            inbound = Inbound(
                channel=row.customer.channel,
                user_id=row.customer.external_id,
                display_name=row.customer.display_name,
                language_hint=row.customer.language,
                text=row.text,
                attachment=row.attachment,
                payload=row.payload,
                message_id=row.channel_message_id,
                received_at=row.received_at,
            )
            reports.append(await self._safe_turn(row.customer, row.id, inbound))
        if reports:
            log.info("recovered %d interrupted turn(s)", len(reports))
        return reports

    async def greet(self, inbound: Inbound, *, again: bool = True) -> None:
        """``/start`` and first contact on channels that have one: an honest introduction.

        ``again=False`` greets only a customer who was never greeted (a terminal chat re-opened on a
        conversation that is still going, perhaps with a human, should not start over).
        """
        customer = await self._customer(inbound)
        brain = self.brain
        async with self._lock(customer.id), self.db.transaction() as tx:
            await tx.lock("customer", customer.id)  # one turn at a time per customer, across replicas
            state = ConversationState.from_json(await tx.load_conversation(customer.id))
            if state.greeted and not again:
                return
            language = brain.renderer.language(state.language or inbound.language_hint)
            await self._say(
                tx, customer, brain, "greeting", language, (), {}, dedup=_once(inbound, "greeting")
            )
            state = ConversationState(language=language, greeted=True)
            await tx.save_conversation(customer.id, state.to_json())
        self._enqueued()

    async def set_language(self, inbound: Inbound, language: Lang) -> bool:
        """Switch the conversation's language (``/language``); ``False`` if the folder lacks it."""
        brain = self.brain
        if language not in brain.content.settings.languages:
            return False
        customer = await self._customer(inbound)
        async with self._lock(customer.id), self.db.transaction() as tx:
            await tx.lock("customer", customer.id)  # one turn at a time per customer, across replicas
            state = ConversationState.from_json(await tx.load_conversation(customer.id))
            await tx.set_customer_language(customer.id, language)
            await tx.save_conversation(customer.id, replace(state, language=language).to_json())
            await self._say(
                tx, customer, brain, "language_changed", language, (), {}, dedup=_once(inbound, "language")
            )
        self._enqueued()
        return True

    async def _safe_turn(self, customer: Customer, message_id: int, inbound: Inbound) -> TurnReport:
        """Run the turn; if it crashes, hand the message to a human rather than lose it or crash-loop.

        Without this, one message that always raises would stay unhandled, be retried by every
        :meth:`recover` and keep the bot from starting at all.
        """
        for attempt in range(TURN_RETRIES + 1):
            try:
                return await self._run_turn(customer, message_id, inbound)
            except StorageUnavailable:
                raise  # the database is away: the message stays stored and unhandled, to be handled later
            except Exception as error:
                if is_retryable(error) and attempt < TURN_RETRIES:
                    # PostgreSQL rolled the turn back (deadlock, serialization failure): nothing of it was
                    # committed, so it runs again instead of going to a human as a "failed" turn.
                    log.warning(
                        "turn for message %s collided with another transaction; running it again", message_id
                    )
                    continue
                log.exception(
                    "turn for message %s failed; handing it to a human",
                    message_id,
                    extra={"message_id": message_id, "customer_id": customer.id},
                )
                return await self._fail_safe(customer, message_id, inbound, error)
        raise AssertionError("unreachable")

    async def _fail_safe(
        self, customer: Customer, message_id: int, inbound: Inbound, error: Exception
    ) -> TurnReport:
        brain = self.brain
        now = self._clock()
        async with self._lock(customer.id), self.db.transaction() as tx:
            await tx.lock("customer", customer.id)  # one turn at a time per customer, across replicas
            if await _handled_meanwhile(tx, message_id):
                return TurnReport(
                    message_id, "duplicate", "already handled by another replica", duplicate=True
                )
            ticket = await tx.active_ticket(customer.id)
            language = brain.renderer.language(customer.language or inbound.language_hint)
            if ticket is None:
                ticket = await tx.create_ticket(
                    customer.id,
                    reason=Reason.UNMATCHED,
                    priority=Priority.NORMAL,
                    anger=0.0,
                    anger_reasons=(),
                    summary=await _summary(tx, customer.id, inbound, 0),
                    first_message_id=message_id,
                    now=now,
                )
                minutes = await tx.wait_estimate(Priority.NORMAL, now)
                eta = brain.renderer.eta(minutes, language)
                values = {"ticket_id": str(ticket.id), "eta": eta}
                await self._say(tx, customer, brain, "handoff", language, (), values, ticket_id=ticket.id)
                if self.notify_staff:
                    await tx.enqueue_staff("ticket_created", ticket.id, {"message_id": message_id}, now)
            await tx.attach_message(ticket.id, message_id, now)
            failure = json.dumps({"error": f"{type(error).__name__}: {error}"[:500]})
            await tx.mark_handled(message_id, analysis_json=failure, ticket_id=ticket.id)
        self._enqueued()
        return TurnReport(message_id, "escalate", f"the bot failed ({type(error).__name__})", ticket.id)

    async def _run_turn(self, customer: Customer, message_id: int, inbound: Inbound) -> TurnReport:
        brain = self.brain  # one brain for the whole turn, even if a reload swaps it meanwhile
        now = self._clock()
        async with self._lock(customer.id), self.db.transaction() as tx:
            await tx.lock("customer", customer.id)  # one turn at a time per customer, across replicas
            if await _handled_meanwhile(tx, message_id):
                return TurnReport(
                    message_id, "duplicate", "already handled by another replica", duplicate=True
                )
            if customer.blocked:
                await tx.mark_handled(message_id, analysis_json=None, ticket_id=None)
                return TurnReport(message_id, "ignored", "customer is blocked")
            state = ConversationState.from_json(await tx.load_conversation(customer.id))
            ticket = await tx.active_ticket(customer.id)
            pending_rating = await tx.pending_rating(customer.id, now)
            analysis: Analysis | None = None
            if inbound.text.strip() and inbound.payload is None:
                recent = await tx.recent_customer_texts(customer.id, limit=6)
                analysis = brain.analyze(
                    inbound.text,
                    # The stored customer language is the conversation's language: never count it twice.
                    # Once the conversation has a language, the channel's hint has had its say.
                    hint=None if (state.language or customer.language) else inbound.language_hint,
                    previous=state.language or customer.language,
                    recent=recent[:-1],  # the current message is already stored
                    misses=state.misses,
                )
            turn = Turn(
                now=now,
                text=inbound.text,
                analysis=analysis,
                attachment=inbound.attachment,
                payload=inbound.payload,
            )
            situation = Situation(
                active_ticket_id=ticket.id if ticket else None,
                pending_rating_ticket_id=pending_rating,
                # Claimed, or a person has written to the customer: from then on the bot stays quiet.
                ticket_owned=ticket is not None
                and (ticket.assignee is not None or ticket.first_response_at is not None),
                ticket_priority=ticket.priority if ticket else None,
            )
            unanswered = state.misses
            decision = brain.decide(state, turn, situation)
            state = decision.state
            language = brain.renderer.language(state.language or customer.language or inbound.language_hint)
            if customer.language != language and analysis is not None:
                await tx.set_customer_language(customer.id, language)

            # A rating comes from someone greeted before (they had a ticket); a stranger's forged rating
            # is their first contact and gets the honest greeting like any other.
            if not state.greeted and not any(
                isinstance(a, (ForwardToTicket, Withdraw)) for a in decision.actions
            ):
                await self._say(tx, customer, brain, "greeting", language, (), {})
            state = replace(state, greeted=True, language=language)

            context = _TurnContext(
                tx,
                customer,
                brain,
                language,
                message_id,
                inbound,
                analysis,
                now,
                ticket.id if ticket else None,
                unanswered,
            )
            for action in decision.actions:
                await self._execute(context, action)
            await tx.save_conversation(customer.id, state.to_json())
            stored = analysis_json(analysis, decision.outcome, decision.answered)
            await tx.mark_handled(message_id, analysis_json=stored, ticket_id=context.ticket_id)
        self._enqueued()
        log.debug("turn %s: %s (%s)", message_id, decision.outcome, decision.explanation)
        return TurnReport(
            message_id, decision.outcome, decision.explanation, context.ticket_id, answered=decision.answered
        )

    async def _execute(self, turn: _TurnContext, action: Action) -> None:
        """Carry out one action inside the turn's transaction (a created ticket lands in ``turn``)."""
        tx, customer, brain, language, now = turn.tx, turn.customer, turn.brain, turn.language, turn.now
        renderer = brain.renderer
        match action:
            case SendAnswer(intent_id=intent_id, choices=choices, joined=joined):
                intent = brain.intents[intent_id]
                text = renderer.answer(intent, language, {"customer_name": customer.display_name})
                if joined:
                    turn.held = text
                    return
                await tx.enqueue_outbound(
                    customer.id,
                    text=text,
                    buttons=self._buttons(brain, choices, language),
                    author=Author.BOT,
                    ticket_id=turn.ticket_id,
                    now=now,
                )
                if turn.ticket_id is not None and self.notify_staff:
                    # A ticket nobody has picked up yet: staff see what the bot told the customer meanwhile.
                    title = renderer.title(intent, "en")
                    note = f"🤖 The bot answered ({title}):\n{text}"
                    await tx.enqueue_staff(
                        "ticket_updated",
                        turn.ticket_id,
                        {"action": "bot_answered", "agent": "bot", "source": "bot", "text": note},
                        now,
                    )
            case SendMessage(name=name, choices=choices, values=extra):
                await self._say(
                    tx, customer, brain, name, language, choices, dict(extra), ticket_id=turn.ticket_id
                )
            case Clarify(intent_ids=intent_ids):
                buttons = self._buttons(brain, tuple(INTENT_PREFIX + i for i in intent_ids), language)
                await tx.enqueue_outbound(
                    customer.id,
                    text=renderer.message("clarify", language, {"customer_name": customer.display_name}),
                    buttons=(*buttons, renderer.none_button(language)),
                    author=Author.BOT,
                    now=now,
                )
            case Escalate(reason=reason, priority=priority, message=message):
                analysis = turn.analysis
                ticket = await tx.create_ticket(
                    customer.id,
                    reason=reason,
                    priority=priority,
                    anger=analysis.tone.anger if analysis else 0.0,
                    anger_reasons=analysis.tone.reasons if analysis else (),
                    summary=await _summary(tx, customer.id, turn.inbound, turn.unanswered),
                    first_message_id=turn.message_id,
                    now=now,
                )
                turn.ticket_id = ticket.id
                await tx.attach_message(ticket.id, turn.message_id, now)
                if turn.inbound.attachment is not None:
                    values = {"kind": turn.inbound.attachment}
                    await self._say(
                        tx, customer, brain, "attachment_received", language, (), values, ticket_id=ticket.id
                    )
                minutes = await tx.wait_estimate(priority, now)
                values = {
                    "ticket_id": str(ticket.id),
                    "eta": renderer.eta(minutes, language),
                    "customer_name": customer.display_name,
                }
                text = renderer.message(message, language, values)
                if turn.held is not None:
                    text, turn.held = f"{turn.held}\n\n{text}", None
                await tx.enqueue_outbound(
                    customer.id,
                    text=text,
                    buttons=(renderer.withdraw_button(language, ticket.id),),
                    author=Author.BOT,
                    ticket_id=ticket.id,
                    now=now,
                )
                if self.notify_staff:
                    await tx.enqueue_staff("ticket_created", ticket.id, {"message_id": turn.message_id}, now)
            case Withdraw(ticket_id=ticket_id):
                if await tx.withdraw(ticket_id, now) and self.notify_staff:
                    note = "↩️ The customer withdrew the request; the ticket is closed as withdrawn."
                    await tx.enqueue_staff(
                        "ticket_updated",
                        ticket_id,
                        {"action": "withdrawn", "agent": "customer", "source": "bot", "text": note},
                        now,
                    )
                turn.ticket_id = ticket_id
            case ForwardToTicket(ticket_id=ticket_id):
                await tx.attach_message(ticket_id, turn.message_id, now)
                if self.notify_staff:
                    await tx.enqueue_staff(
                        "customer_message", ticket_id, {"message_id": turn.message_id}, now
                    )
            case RaisePriority(ticket_id=ticket_id, priority=priority, cause=cause):
                # Staff see the jump in the topic/inbox; a ticket already that high changes nothing.
                anger = turn.analysis.tone.anger if turn.analysis else 0.0
                before = await tx.raise_priority(ticket_id, priority, now, anger=anger, why=cause)
                if before is not None and self.notify_staff:
                    note = f"⚠️ Priority raised from {before.value} to {priority.value} ({cause})"
                    await tx.enqueue_staff(
                        "ticket_updated",
                        ticket_id,
                        {"action": "priority_raised", "agent": "bot", "source": "bot", "text": note},
                        now,
                    )
            case RecordRating(ticket_id=ticket_id, rating=rating):
                if await tx.record_rating(ticket_id, rating, now, customer_id=customer.id):
                    values = {"rating": str(rating)}
                    await self._say(
                        tx, customer, brain, "rate_thanks", language, (), values, ticket_id=ticket_id
                    )
                else:
                    # Someone else's ticket, a repeat or a late answer: say plainly it did not count.
                    await self._say(tx, customer, brain, "rate_not_counted", language, (), {})

    async def _say(
        self,
        tx: Tx,
        customer: Customer,
        brain: Brain,
        name: str,
        language: Lang,
        choices: tuple[str, ...],
        values: dict[str, str],
        *,
        ticket_id: int | None = None,
        dedup: str | None = None,
    ) -> None:
        values.setdefault("customer_name", customer.display_name)
        await tx.enqueue_outbound(
            customer.id,
            text=brain.renderer.message(name, language, values),
            buttons=self._buttons(brain, choices, language),
            author=Author.BOT,
            ticket_id=ticket_id,
            dedup_key=dedup,
            now=self._clock(),
        )

    @staticmethod
    def _buttons(brain: Brain, choices: tuple[str, ...], language: Lang) -> tuple[Button, ...]:
        buttons = []
        for payload in choices:
            if payload == HUMAN:
                buttons.append(brain.renderer.human_button(language))
            elif payload == WITHDRAW:
                buttons.append(brain.renderer.withdraw_button(language))
            elif payload.startswith(INTENT_PREFIX):
                intent = brain.intents.get(payload.removeprefix(INTENT_PREFIX))
                if intent is not None:
                    buttons.append(Button(brain.renderer.title(intent, language), payload))
        return tuple(buttons)

    def _enqueued(self) -> None:
        if self._on_enqueued is not None:
            self._on_enqueued()


def _once(inbound: Inbound, what: str) -> str | None:
    """The outbox dedup key of a reply to a command message: the same update processed again after a crash
    (the channel's inbox re-runs what it had not marked done) must not greet twice."""
    if inbound.message_id is None:
        return None
    return f"{inbound.user_id}:{inbound.message_id}:{what}"


async def _summary(tx: Tx, customer_id: int, inbound: Inbound, unanswered: int) -> str:
    """What the customer needs, for the queue: this message and the unanswered ones just before it.

    A bare "/human" or button label says nothing, so the message before it stands in; questions the bot
    already answered are left out.
    """
    texts = [t for t in await tx.recent_customer_texts(customer_id, limit=4) if t.strip()]
    texts, current = texts[:-1], texts[-1:]
    if inbound.payload is not None or inbound.text.startswith("/"):
        current, unanswered = [], max(unanswered, 1)
    earlier = texts[len(texts) - min(unanswered, 2) :] if unanswered else []
    words = [t for t in (*earlier, *current) if not t.startswith("/")]
    text = " / ".join(" ".join(t.split()) for t in words)
    if inbound.attachment:
        text = f"[{inbound.attachment}] {text}".strip()
    return text[:200] or "(no text)"


async def _handled_meanwhile(tx: Tx, message_id: int) -> bool:
    """Whether the message's turn already ran: checked under the customer's lock, because another replica
    may have run it while this one waited (a replica starting up recovers every unhandled message, including
    those a live replica is answering right now). Running it again would answer the customer twice."""
    stored = await tx.message(message_id)
    return stored is not None and stored.handled_at is not None
