"""Dialogue policy: a pure function from (conversation state, what just happened) to actions.

Everything that decides *what the bot does* lives here, with no I/O, so each branch is a unit test and an
editor's test case can be answered without a database. The service layer executes the actions (renders
text, creates tickets, queues replies) and persists the returned state.

The rules, in order of precedence:

1. A rating button (or a bare 1-5 after the rating question) is recorded.
2. While a human has the ticket the bot never answers over them: the message joins the ticket, and the
   customer gets ``handoff_ack`` at most once per quiet period.
3. An attachment the bot cannot read goes to a human, with an honest reply.
4. Anger at or above ``anger_threshold`` escalates at once with high priority.
5. A handoff phrase, ``/human`` or the "talk to a human" button escalates.
6. A clear match is answered (and handed over as well when the intent says ``escalate: true``); close
   candidates get one clarifying question, a second ambiguity goes to a human; a near miss (within
   ``suggest_band`` of a threshold) gets the same "did you mean", any other miss asks to rephrase and offers a
   human; ``max_misses`` misses in a row go to a human. Below the threshold, a best intent whose runner-up
   scores at most ``lead_ratio`` of its score (and which scores ``lead_min_score`` or more) counts as a clear
   match; a
   message the matcher marks ``out_of_scope`` is never answered and gets no "did you mean".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.model import Analysis, Candidate, Intent, Lang, Priority, Reason, Settings

HUMAN = "human"
NONE = "none"
INTENT_PREFIX = "intent:"
RATE_PREFIX = "rate:"
HUMAN_COMMANDS = ("/human", "/agent", "/mensch", "/mitarbeiter")

URGENT_ANGER = 90.0
"""Anger this high (on top of crossing the threshold) makes a ticket urgent rather than high."""


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the bot remembers about one customer's conversation between messages."""

    language: Lang | None = None
    greeted: bool = False
    misses: int = 0
    """Consecutive messages the bot could not match."""
    clarifications: int = 0
    """Clarifying questions asked in a row without a clear answer since."""
    clarify_options: tuple[str, ...] = ()
    last_ack_at: datetime | None = None
    """When ``handoff_ack`` was last sent for the current ticket."""
    ack_ticket_id: int | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "language": self.language,
                "greeted": self.greeted,
                "misses": self.misses,
                "clarifications": self.clarifications,
                "clarify_options": list(self.clarify_options),
                "last_ack_at": self.last_ack_at.isoformat() if self.last_ack_at else None,
                "ack_ticket_id": self.ack_ticket_id,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> ConversationState:
        """Tolerant on purpose: a state written by an older version must never break a conversation."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(raw, dict):
            return cls()
        last_ack = raw.get("last_ack_at")
        try:
            last_ack_at = datetime.fromisoformat(last_ack) if isinstance(last_ack, str) else None
        except ValueError:
            last_ack_at = None
        language = raw.get("language")
        ack_ticket = raw.get("ack_ticket_id")
        return cls(
            language=language if isinstance(language, str) else None,
            greeted=bool(raw.get("greeted", False)),
            misses=int(raw.get("misses") or 0),
            clarifications=int(raw.get("clarifications") or 0),
            clarify_options=tuple(str(o) for o in raw.get("clarify_options") or ()),
            last_ack_at=last_ack_at,
            ack_ticket_id=int(ack_ticket) if isinstance(ack_ticket, int) else None,
        )

    def reset_dialogue(self) -> ConversationState:
        """Forget misses and pending questions, e.g. after an answer or a hand-over."""
        return replace(self, misses=0, clarifications=0, clarify_options=())


# --- input ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """One customer event, already analysed by the core."""

    now: datetime
    text: str = ""
    analysis: Analysis | None = None
    """``None`` when there was no text to analyse (a bare attachment or a button press)."""
    attachment: str | None = None
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Situation:
    """Facts from the queue that the policy must respect."""

    active_ticket_id: int | None = None
    pending_rating_ticket_id: int | None = None


# --- actions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Say one of the catalogue messages; ``choices`` are button payloads (``human``, ``intent:<id>``)."""

    name: str
    choices: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SendAnswer:
    intent_id: str
    choices: tuple[str, ...] = ()
    """Follow-up intents as ``intent:<id>`` payloads."""


@dataclass(frozen=True, slots=True)
class Clarify:
    """Ask "did you mean" with one button per candidate intent, plus "none of these"."""

    intent_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Escalate:
    """Open a ticket for a human and tell the customer honestly (ticket id, wait estimate)."""

    reason: Reason
    priority: Priority


@dataclass(frozen=True, slots=True)
class ForwardToTicket:
    """The message belongs to the ticket a human is handling; the bot stays quiet (or acks)."""

    ticket_id: int


@dataclass(frozen=True, slots=True)
class RecordRating:
    ticket_id: int
    rating: int


Action = SendMessage | SendAnswer | Clarify | Escalate | ForwardToTicket | RecordRating


@dataclass(frozen=True, slots=True)
class Decision:
    actions: tuple[Action, ...]
    state: ConversationState
    outcome: str
    """One word for tests, logs and statistics: an intent id, ``clarify``, ``not_understood``,
    ``escalate``, ``forward``, ``rating`` or ``ignored``."""
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class _Rules:
    settings: Settings
    intents: dict[str, Intent]


# --- the policy ---------------------------------------------------------------------------------------


def decide(
    state: ConversationState,
    turn: Turn,
    situation: Situation,
    settings: Settings,
    intents: dict[str, Intent],
) -> Decision:
    """Decide what to do about one customer event. Pure: same input, same decision."""
    rules = _Rules(settings, intents)
    if turn.analysis is not None:
        state = replace(state, language=turn.analysis.language)

    rating = _rating(turn, situation)
    if rating is not None:
        return Decision((RecordRating(*rating),), state, "rating", f"rating {rating[1]} for #{rating[0]}")

    if situation.active_ticket_id is not None:
        return _forward(state, turn, situation.active_ticket_id, settings)

    if turn.attachment is not None:
        return _escalate(
            state, Reason.ATTACHMENT, Priority.NORMAL, f"{turn.attachment} cannot be read by the bot"
        )

    anger = turn.analysis.tone.anger if turn.analysis else 0.0
    if anger >= settings.anger_threshold:
        priority = Priority.URGENT if anger >= URGENT_ANGER else Priority.HIGH
        return _escalate(state, Reason.ANGRY, priority, f"anger {anger:.1f} >= {settings.anger_threshold:g}")

    if _wants_human(turn):
        return _escalate(
            state, Reason.REQUESTED, _calm_priority(anger, settings), "customer asked for a human"
        )

    if turn.payload is not None:
        return _button(state, turn, rules)

    return _match(state, turn, rules)


def _rating(turn: Turn, situation: Situation) -> tuple[int, int] | None:
    if turn.payload and turn.payload.startswith(RATE_PREFIX):
        parts = turn.payload.split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2] in {"1", "2", "3", "4", "5"}:
            return int(parts[1]), int(parts[2])
        return None
    text = turn.text.strip()
    ticket = situation.pending_rating_ticket_id
    if ticket is not None and situation.active_ticket_id is None and text in {"1", "2", "3", "4", "5"}:
        return ticket, int(text)
    return None


def _forward(state: ConversationState, turn: Turn, ticket_id: int, settings: Settings) -> Decision:
    quiet = timedelta(minutes=settings.handoff_ack_quiet_minutes)
    fresh_ticket = state.ack_ticket_id != ticket_id
    due = fresh_ticket or state.last_ack_at is None or turn.now - state.last_ack_at >= quiet
    actions: tuple[Action, ...] = (ForwardToTicket(ticket_id),)
    if due:
        actions += (SendMessage("handoff_ack"),)
        state = replace(state, last_ack_at=turn.now, ack_ticket_id=ticket_id)
    elif state.ack_ticket_id == ticket_id:
        # Quiet-period semantics: the ack is sent once per silence, so every message restarts the clock.
        state = replace(state, last_ack_at=turn.now)
    return Decision(actions, state, "forward", f"ticket #{ticket_id} is with a human")


def _escalate(state: ConversationState, reason: Reason, priority: Priority, why: str) -> Decision:
    return Decision(
        (Escalate(reason, priority),), state.reset_dialogue(), "escalate", f"{reason.value}: {why}"
    )


def _calm_priority(anger: float, settings: Settings) -> Priority:
    """Not angry enough to escalate on its own, but clearly annoyed customers still go up the queue."""
    return Priority.HIGH if anger >= settings.anger_threshold / 2 else Priority.NORMAL


def _wants_human(turn: Turn) -> bool:
    if turn.payload == HUMAN:
        return True
    first_word = turn.text.strip().split(maxsplit=1)[0].casefold() if turn.text.strip() else ""
    if first_word.split("@", 1)[0] in HUMAN_COMMANDS:
        return True
    return bool(turn.analysis and turn.analysis.tone.wants_human)


def _button(state: ConversationState, turn: Turn, rules: _Rules) -> Decision:
    payload = turn.payload or ""
    if payload == NONE:
        # "None of these" after a clarifying question: guessing again would be a loop.
        return _escalate(state, Reason.AMBIGUOUS, Priority.NORMAL, "none of the offered intents fit")
    if payload.startswith(INTENT_PREFIX):
        intent = rules.intents.get(payload.removeprefix(INTENT_PREFIX))
        if intent is not None and intent.enabled:
            return _answer(state, intent, f"button for {intent.id}")
    # A stale button (e.g. an intent removed by a reload): treat its label as typed text.
    return _match(state, turn, rules)


def _answer(state: ConversationState, intent: Intent, why: str) -> Decision:
    if intent.escalate:
        # Follow-up buttons after a hand-over would only be forwarded to the human: offer none.
        actions: tuple[Action, ...] = (SendAnswer(intent.id), Escalate(Reason.INTENT, Priority.NORMAL))
        return Decision(actions, state.reset_dialogue(), intent.id, why)
    choices = tuple(INTENT_PREFIX + f for f in intent.follow_up)
    actions = (SendAnswer(intent.id, choices),)
    return Decision(actions, state.reset_dialogue(), intent.id, why)


def _passing(candidates: tuple[Candidate, ...], rules: _Rules, slack: float = 0.0) -> list[Candidate]:
    passing = []
    for candidate in candidates:
        intent = rules.intents.get(candidate.intent_id)
        if (
            intent is not None
            and intent.enabled
            and candidate.score >= intent.threshold(rules.settings) - slack
        ):
            passing.append(candidate)
    return passing


def _match(state: ConversationState, turn: Turn, rules: _Rules) -> Decision:
    settings = rules.settings
    match = turn.analysis.match if turn.analysis else None
    candidates = match.candidates if match else ()
    passing = _passing(candidates, rules)
    if match is not None and match.out_of_scope:
        passing = []  # a look-alike of something the folder does not cover: never a confident answer
    elif not passing and match and match.best and settings.lead_ratio > 0:
        # Clearly ahead of every other intent, though below the threshold (long or indirect messages).
        leader, second = match.best, match.runner_up
        clear = second is None or second.score <= settings.lead_ratio * leader.score
        passing = [leader] if clear and leader.score >= settings.lead_min_score else []
    if not passing:
        misses = state.misses + 1
        best = candidates[0] if candidates else None
        why = f"best {best.intent_id} {best.score:.1f}" if best else "no candidate"
        if match is not None and match.out_of_scope:
            why += f"; out of scope: {match.out_of_scope}"
        if misses >= settings.max_misses:
            return _escalate(state, Reason.UNMATCHED, Priority.NORMAL, f"{misses} misses in a row ({why})")
        near = _passing(candidates, rules, slack=settings.suggest_band)[:3]
        if match is not None and match.out_of_scope:
            near = []  # offering the look-alike intents would suggest the bot covers the topic after all
        if near and state.clarifications < settings.max_clarifications:
            # Close to a threshold: offering the candidates beats "please rephrase". Still a miss, so
            # max_misses bounds the conversation exactly as before.
            options = tuple(c.intent_id for c in near)
            state = replace(
                state, misses=misses, clarifications=state.clarifications + 1, clarify_options=options
            )
            return Decision(
                (Clarify(options),), state, "clarify", f"near miss: {why} < {settings.min_score:g}"
            )
        state = replace(state, misses=misses, clarifications=0, clarify_options=())
        return Decision((SendMessage("not_understood", (HUMAN,)),), state, "not_understood", why)

    best = passing[0]
    close = [c for c in passing if best.score - c.score < settings.ambiguity_margin]
    if len(close) >= 2:
        if state.clarifications >= settings.max_clarifications:
            return _escalate(state, Reason.AMBIGUOUS, Priority.NORMAL, "still ambiguous after clarifying")
        options = tuple(c.intent_id for c in close[:3])
        state = replace(state, clarifications=state.clarifications + 1, clarify_options=options, misses=0)
        scores = ", ".join(f"{c.intent_id} {c.score:.1f}" for c in close[:3])
        return Decision(
            (Clarify(options),), state, "clarify", f"within {settings.ambiguity_margin:g}: {scores}"
        )

    intent = rules.intents[best.intent_id]
    runner = f", runner-up {passing[1].intent_id} {passing[1].score:.1f}" if len(passing) > 1 else ""
    return _answer(state, intent, f"{best.score:.1f} against {best.example!r}{runner}")
