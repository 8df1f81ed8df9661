"""Dialogue policy: a pure function from (conversation state, what just happened) to actions.

Everything that decides *what the bot does* lives here, with no I/O, so each branch is a unit test and an
editor's test case can be answered without a database. The service layer executes the actions (renders
text, creates tickets, queues replies) and persists the returned state.

The rules, in order of precedence (docs/architecture.md lists them for readers):

1. A rating button (or a bare 1-5 after the rating question) is recorded.
2. While a ticket is open, "never mind" (or the button on the hand-over message) withdraws it. Until a
   person has claimed the ticket or written to the customer, clear matches are still answered (and
   recorded on the ticket; a clear part beside an unclear one too; never a pleasantry or an escalating
   intent of normal priority, whose answer only promises the person already on the way); anything else, and everything once a person owns it, joins the ticket and the
   customer gets ``handoff_ack`` at most once per quiet period. While nobody owns it, anger or an urgent
   escalating intent raises its priority (never lowers it), by the same rule as for a new ticket.
3. An attachment the bot cannot read goes to a human, with an honest reply.
4. Anger at or above ``anger_threshold`` escalates at once with high priority and ``handoff_angry``.
5. A handoff phrase, ``/human``, the "talk to a human" button, or a yes to the bot's offer escalates.
6. ``/help`` and any other slash command get the help text; never a miss.
7. Short replies in context: after "… or shall I pass you on?" a no declines politely; after "did you
   mean" a yes takes the suggestion and a no (or "none of these") asks once to rephrase before a human.
   A pleasantry intent matching the reply ("nein danke" → ``thanks``) does not make it a question.
8. A clear match is answered (and handed over as well when the intent says ``escalate: true``, with the
   intent's ``priority``); several questions in one message are answered one by one, leaving out
   greetings, thanks, goodbyes and openers announcing a topic next to a real question; a part the
   matcher marks out of scope is named (``partly_understood``), never dropped. Close candidates get
   one clarifying question, a second ambiguity goes to a human. An acknowledgement ("ok", 👍) is answered
   politely. A near miss with a clear lead asks "did you mean" whatever came before; any other miss asks
   to rephrase and offers a human; ``max_misses`` misses in a row go to a human. Below its threshold, a
   best intent whose runner-up scores at most ``lead_ratio`` of its score (and which scores
   ``lead_min_score`` or more) counts as a clear match; a message the matcher marks ``out_of_scope`` is
   never answered and gets no "did you mean" (nor is a message whose only real part is such). No "did
   you mean" offers a candidate below ``suggest_min_score``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.model import Analysis, Candidate, Intent, Lang, MatchResult, Priority, Reason, Settings
from bot.core.replies import (
    HELP_COMMANDS,
    HUMAN_COMMANDS,
    Reply,
    announces_topic,
    asks_to_be_passed_on,
    classify,
    command,
    declines_person,
    is_pleasantry,
    starts_with_no,
)

HUMAN = "human"
NONE = "none"
WITHDRAW = "withdraw"
"""The hand-over message's button: ``withdraw:<ticket id>`` (plain ``withdraw`` on buttons sent before the
id was added, read as the open ticket)."""


def is_withdraw(payload: str | None) -> bool:
    """The hand-over message's button, with or without its ticket id."""
    return payload == WITHDRAW or (payload or "").startswith(WITHDRAW + ":")


def withdraw_ticket(payload: str | None) -> int | None:
    """The ticket a withdraw button names; None for a plain ``withdraw`` (or no withdraw button)."""
    number = (payload or "").removeprefix(WITHDRAW + ":")
    return int(number) if is_withdraw(payload) and number.isdigit() else None


"""Payload of the button on the hand-over message: the customer no longer needs the team."""
INTENT_PREFIX = "intent:"
RATE_PREFIX = "rate:"

URGENT_ANGER = 90.0
"""Anger this high (on top of crossing the threshold) makes a ticket urgent rather than high."""

_RATING = re.compile(r"(?P<digit>[1-5])\s*(?:/\s*5|von 5|out of 5|of 5|sterne?|stars?|⭐)?\s*[!.]*")
"""A bare rating with what people add to it; anything longer is a message, not a rating."""

OFFER_HUMAN = "human"
"""``ConversationState.offer`` after the bot offered to pass the customer on: a yes or no answers it."""


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
    offer: str | None = None
    """The yes/no question the bot's last message asked (``OFFER_HUMAN``), if any."""
    rephrase_asked: bool = False
    """The customer was already invited to say it differently in this run of misses."""

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
                "offer": self.offer,
                "rephrase_asked": self.rephrase_asked,
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
        offer = raw.get("offer")
        return cls(
            language=language if isinstance(language, str) else None,
            greeted=bool(raw.get("greeted", False)),
            misses=int(raw.get("misses") or 0),
            clarifications=int(raw.get("clarifications") or 0),
            clarify_options=tuple(str(o) for o in raw.get("clarify_options") or ()),
            last_ack_at=last_ack_at,
            ack_ticket_id=int(ack_ticket) if isinstance(ack_ticket, int) else None,
            offer=offer if isinstance(offer, str) else None,
            rephrase_asked=bool(raw.get("rephrase_asked", False)),
        )

    def reset_dialogue(self) -> ConversationState:
        """Forget misses and pending questions, e.g. after an answer or a hand-over."""
        return replace(self, misses=0, clarifications=0, clarify_options=(), offer=None, rephrase_asked=False)


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
    ticket_owned: bool = True
    """A person has claimed the active ticket or written to the customer. Until then the bot keeps
    answering clear questions (the default is the cautious one: a human owns it)."""
    ticket_priority: Priority | None = None
    """The active ticket's priority, so that anger or an urgent question only ever raises it."""


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
    joined: bool = False
    """The hand-over that follows continues this text as one message (no two hotlines back to back)."""


@dataclass(frozen=True, slots=True)
class Clarify:
    """Ask "did you mean" with one button per candidate intent, plus "none of these"."""

    intent_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Escalate:
    """Open a ticket for a human and tell the customer honestly (ticket id, wait estimate)."""

    reason: Reason
    priority: Priority
    message: str = "handoff"
    """The catalogue message that tells the customer: ``handoff``, ``handoff_angry`` (acknowledges the
    frustration) or ``handoff_after_answer`` (continues an escalating intent's answer)."""


@dataclass(frozen=True, slots=True)
class ForwardToTicket:
    """The message belongs to the customer's open ticket (staff see it there)."""

    ticket_id: int


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The customer no longer needs the team: close the ticket as *withdrawn* and tell staff."""

    ticket_id: int


@dataclass(frozen=True, slots=True)
class RaisePriority:
    """The waiting ticket moves up the queue: the customer got angry, or asked something urgent."""

    ticket_id: int
    priority: Priority
    cause: str
    """For the event and the staff note: ``anger 85`` or the urgent intent's id (``sim_block``)."""


@dataclass(frozen=True, slots=True)
class RecordRating:
    ticket_id: int
    rating: int


Action = (
    SendMessage | SendAnswer | Clarify | Escalate | ForwardToTicket | Withdraw | RaisePriority | RecordRating
)

OUTCOMES = (
    "clarify",
    "not_understood",
    "escalate",
    "forward",
    "rating",
    "declined",
    "withdrawn",
    "help",
    "acknowledged",
    "rephrase",
)
"""Every outcome that is not an intent id (see :attr:`Decision.outcome`)."""


@dataclass(frozen=True, slots=True)
class Decision:
    actions: tuple[Action, ...]
    state: ConversationState
    outcome: str
    """One word for tests, logs and statistics: an intent id (the first, when several questions were
    answered), or one of :data:`OUTCOMES`."""
    explanation: str = ""

    @property
    def answered(self) -> tuple[str, ...]:
        """The intents answered in this turn, in order."""
        return tuple(a.intent_id for a in self.actions if isinstance(a, SendAnswer))


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

    reply = classify(turn.text) if turn.payload is None and turn.attachment is None else None

    if situation.active_ticket_id is not None:
        return _with_ticket(state, turn, situation, rules, reply)

    if turn.attachment is not None:
        return _escalate(
            state, Reason.ATTACHMENT, Priority.NORMAL, f"{turn.attachment} cannot be read by the bot"
        )

    anger = turn.analysis.tone.anger if turn.analysis else 0.0
    # "No, I don't want a human" is never answered with a human, however the tone reads it: handing over
    # someone who declined is the trap issue #13 is about (/human still works at any time).
    declines = turn.payload is None and _declines_person(state, turn.text)
    angry = None if declines else _angry_priority(turn, rules)
    if angry is not None:
        return _escalate(
            state,
            Reason.ANGRY,
            angry,
            f"anger {anger:.1f} >= {settings.anger_threshold:g}",
            message="handoff_angry",
        )

    if declines:
        reply = Reply.NO  # "no, I don't want a human": the word "human" is not a request for one here
    elif (
        _wants_human(turn)
        or (turn.payload is None and asks_to_be_passed_on(turn.text))
        or (state.offer == OFFER_HUMAN and reply is Reply.YES)
    ):
        return _escalate(
            state, Reason.REQUESTED, _calm_priority(anger, settings), "customer asked for a human"
        )

    slash = command(turn.text) if turn.payload is None else None
    if slash is not None:
        why = "asked for help" if slash in HELP_COMMANDS else f"unknown command {slash}"
        return Decision((SendMessage("help"),), _quiet(state), "help", why)

    if turn.payload is not None:
        return _button(state, turn, rules)

    if reply is not None:
        decision = _short_reply(state, turn, rules, reply)
        if decision is not None:
            return decision

    return _match(state, turn, rules)


def _quiet(state: ConversationState) -> ConversationState:
    """The bot's last message asked nothing: a later yes or no is not an answer to an old question."""
    return replace(state, offer=None)


def _rating(turn: Turn, situation: Situation) -> tuple[int, int] | None:
    if turn.payload and turn.payload.startswith(RATE_PREFIX):
        parts = turn.payload.split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2] in {"1", "2", "3", "4", "5"}:
            return int(parts[1]), int(parts[2])
        return None
    ticket = situation.pending_rating_ticket_id
    if ticket is None or situation.active_ticket_id is not None:
        return None
    # "5", "5/5", "4 Sterne", "5 stars!", "⭐⭐⭐⭐": the answer to "rate from 1 to 5", not a question.
    found = _RATING.fullmatch(turn.text.strip().casefold())
    if found is not None and found["digit"]:
        return ticket, int(found["digit"])
    stars = turn.text.strip().replace("\ufe0f", "")
    if stars and set(stars) == {"⭐"} and len(stars) <= 5:
        return ticket, len(stars)
    return None


def _with_ticket(
    state: ConversationState, turn: Turn, situation: Situation, rules: _Rules, reply: Reply | None
) -> Decision:
    ticket_id = situation.active_ticket_id
    assert ticket_id is not None
    target = withdraw_ticket(turn.payload)
    if target is not None and target != ticket_id:
        # The button of an earlier hand-over: that ticket is closed already, and this one is not its to end.
        return Decision(
            (SendMessage("acknowledged"),),
            _quiet(state),
            "acknowledged",
            f"withdraw button of #{target}, not of the open #{ticket_id}",
        )
    if is_withdraw(turn.payload) or reply is Reply.WITHDRAW:
        actions: tuple[Action, ...] = (ForwardToTicket(ticket_id), Withdraw(ticket_id))
        actions += (SendMessage("withdrawn", values=(("ticket_id", str(ticket_id)),)),)
        # "Hat sich erledigt. Wie kann ich bezahlen?": the new question is answered too.
        also = _clear_answers(turn, rules) if turn.payload is None else None
        for intent_id in also[0] if also else ():
            if _pleasantry(rules.intents[intent_id]):
                continue  # "Hat sich erledigt, danke": the withdrawal is the answer, not "Gern geschehen"
            follow_up = rules.intents[intent_id].follow_up
            actions += (SendAnswer(intent_id, tuple(INTENT_PREFIX + f for f in follow_up)),)
        return Decision(actions, state.reset_dialogue(), "withdrawn", f"customer withdrew #{ticket_id}")
    if situation.ticket_owned:
        return _forward(state, turn, ticket_id, rules.settings, owned=True)
    slash = command(turn.text) if turn.payload is None else None
    if slash is not None and slash not in HUMAN_COMMANDS:
        # "/help" while waiting: what the bot can do, as without a ticket (staff see it on the ticket).
        why = f"{slash} while #{ticket_id} waits for a human"
        return Decision((ForwardToTicket(ticket_id), SendMessage("help")), _quiet(state), "help", why)
    # Nobody has picked the ticket up yet: waiting hours for an answer the bot has helps no one.
    answered = (
        _clear_answers(turn, rules)
        if turn.attachment is None and command(turn.text) is None and not _wants_human(turn)
        else None
    )
    # ... and the queue should know when the wait has become urgent: anger, or an urgent question.
    raised = _raise_priority(turn, rules, situation, answered[0] if answered else ())
    ids = tuple(i for i in answered[0] if _answered_while_waiting(rules.intents[i])) if answered else ()
    if answered and ids:
        why = answered[1]
        sends = tuple(
            SendAnswer(i, tuple(INTENT_PREFIX + f for f in rules.intents[i].follow_up)) for i in ids
        )
        return Decision(
            (ForwardToTicket(ticket_id), *raised, *sends),
            state.reset_dialogue(),
            ids[0],
            f"#{ticket_id} is not picked up yet; {why}{_raised(raised)}",
        )
    if turn.payload and turn.payload.startswith(INTENT_PREFIX):
        intent = rules.intents.get(turn.payload.removeprefix(INTENT_PREFIX))
        if intent is not None and intent.enabled:
            choices = tuple(INTENT_PREFIX + f for f in intent.follow_up)
            raised = _raise_priority(turn, rules, situation, (intent.id,))
            return Decision(
                (ForwardToTicket(ticket_id), *raised, SendAnswer(intent.id, choices)),
                state.reset_dialogue(),
                intent.id,
                f"button for {intent.id}; #{ticket_id} is not picked up yet",
            )
    decision = _forward(state, turn, ticket_id, rules.settings, owned=False)
    if not raised:
        return decision
    forward, *rest = decision.actions
    return replace(
        decision,
        actions=(forward, *raised, *rest),
        explanation=f"{decision.explanation}{_raised(raised)}",
    )


def _answered_while_waiting(intent: Intent) -> bool:
    """Whether the bot answers this intent while the customer's ticket waits for a person.

    Not a pleasantry: "Hallo??" while waiting is "is anyone there?", for the team, not "Hello! What is it
    about?". Not an intent whose answer is a hand-over (``escalate``) of normal priority: "Ich will doch
    nicht ewig warten" or "Still no answer?!" match ``complaint``, whose answer promises the person the
    customer already waits for; the message joins the ticket. An urgent escalating intent (``sim_block``,
    ``outage``) is still answered: its answer has self-help that cannot wait, and it raises the ticket.
    """
    if _pleasantry(intent):
        return False
    return not intent.escalate or (intent.priority or Priority.NORMAL).rank > Priority.NORMAL.rank


def _raise_priority(
    turn: Turn, rules: _Rules, situation: Situation, answered: tuple[str, ...]
) -> tuple[RaisePriority, ...]:
    """Raise the waiting ticket to what this message asks for, if that is more than it has.

    The same rules as for a new ticket: anger as :func:`_angry_priority` decides, an escalating intent
    the bot answers by its ``priority`` (a stolen phone reported while waiting for a person about
    something else). Never lowers a priority.
    """
    ticket_id = situation.active_ticket_id
    assert ticket_id is not None
    wanted: list[tuple[Priority, str]] = []
    for intent in (rules.intents[i] for i in answered if i in rules.intents):
        if intent.escalate and intent.priority is not None:
            wanted.append((intent.priority, intent.id))
    angry = _angry_priority(turn, rules)
    if angry is not None:
        wanted.append((angry, f"anger {_anger(turn):.0f}"))
    if not wanted:
        return ()
    # The first of the highest names the cause: the stolen phone, rather than the anger about it.
    priority, cause = max(wanted, key=lambda w: w[0].rank)
    current = situation.ticket_priority
    if current is not None and priority.rank <= current.rank:
        return ()
    return (RaisePriority(ticket_id, priority, cause),)


def _raised(raised: tuple[RaisePriority, ...]) -> str:
    return "".join(f"; priority raised to {r.priority.value} ({r.cause})" for r in raised)


def _angry_priority(turn: Turn, rules: _Rules) -> Priority | None:
    """The one rule for priority from anger; ``None`` below ``anger_threshold``.

    High at the threshold, urgent from :data:`URGENT_ANGER`. Anger raises priority, it never lowers what
    an escalating intent the message clearly asks for wants (an angry stolen-phone message is urgent).
    """
    anger = _anger(turn)
    if anger < rules.settings.anger_threshold:
        return None
    priority = Priority.URGENT if anger >= URGENT_ANGER else Priority.HIGH
    clear = _clear_answers(turn, rules)
    for intent in (rules.intents[i] for i in (clear[0] if clear else ())):
        if intent.escalate and intent.priority and intent.priority.rank > priority.rank:
            priority = intent.priority
    return priority


def _forward(
    state: ConversationState, turn: Turn, ticket_id: int, settings: Settings, *, owned: bool
) -> Decision:
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
    who = "is with a human" if owned else "waits for a human"
    return Decision(actions, _quiet(state), "forward", f"ticket #{ticket_id} {who}")


def _escalate(
    state: ConversationState, reason: Reason, priority: Priority, why: str, *, message: str = "handoff"
) -> Decision:
    return Decision(
        (Escalate(reason, priority, message),), state.reset_dialogue(), "escalate", f"{reason.value}: {why}"
    )


def _calm_priority(anger: float, settings: Settings) -> Priority:
    """Not angry enough to escalate on its own, but clearly annoyed customers still go up the queue."""
    return Priority.HIGH if anger >= settings.anger_threshold / 2 else Priority.NORMAL


def _declines_person(state: ConversationState, text: str) -> bool:
    """A no to a person, read as one where a no makes sense: after the bot's offer or "did you mean",
    or when the message opens with a no ("Warum antwortet kein Mensch?" alone asks for one)."""
    context = state.offer == OFFER_HUMAN or bool(state.clarify_options) or starts_with_no(text)
    return context and declines_person(text)


def _wants_human(turn: Turn) -> bool:
    if turn.payload == HUMAN:
        return True
    if command(turn.text) in HUMAN_COMMANDS:
        return True
    return bool(turn.analysis and turn.analysis.tone.wants_human)


def _button(state: ConversationState, turn: Turn, rules: _Rules) -> Decision:
    payload = turn.payload or ""
    if payload == NONE:
        return _something_else(state, rules, "none of the offered intents fit")
    if is_withdraw(payload):
        # The ticket is already closed (withdrawn twice, or resolved meanwhile): nothing to undo.
        return Decision((SendMessage("acknowledged"),), _quiet(state), "acknowledged", "no open ticket")
    if payload.startswith(INTENT_PREFIX):
        intent = rules.intents.get(payload.removeprefix(INTENT_PREFIX))
        if intent is not None and intent.enabled:
            return _answer(state, intent, f"button for {intent.id}", _anger(turn), rules.settings)
    # A stale button (e.g. an intent removed by a reload): treat its label as typed text.
    return _match(state, turn, rules)


def _something_else(state: ConversationState, rules: _Rules, why: str) -> Decision:
    """ "None of these": once, the customer is invited to say it differently; guessing again would loop."""
    if state.rephrase_asked or state.misses >= rules.settings.max_misses:
        return _escalate(state, Reason.AMBIGUOUS, Priority.NORMAL, f"{why}, after a rephrase")
    state = replace(state, clarify_options=(), offer=OFFER_HUMAN, rephrase_asked=True)
    return Decision((SendMessage("rephrase", (HUMAN,)),), state, "rephrase", why)


def _short_reply(state: ConversationState, turn: Turn, rules: _Rules, reply: Reply) -> Decision | None:
    """Yes, no, never mind and ok, read against the question the bot asked last; None: match as text."""
    if state.clarify_options and reply is Reply.YES:
        options = tuple(o for o in state.clarify_options if o in rules.intents)
        if len(options) == 1:
            return _answer(
                state, rules.intents[options[0]], f"yes to {options[0]}", _anger(turn), rules.settings
            )
        if options:
            # "Yes" to two buttons says neither: ask again, without counting it as another clarification.
            return Decision((Clarify(options),), _quiet(state), "clarify", "yes to several options")
    if state.clarify_options and reply is Reply.NO:
        return _something_else(state, rules, "no to the suggestion")
    if (state.offer == OFFER_HUMAN and reply is Reply.NO) or (
        (state.offer == OFFER_HUMAN or state.clarify_options) and reply is Reply.WITHDRAW
    ):
        return Decision(
            (SendMessage("declined"),), state.reset_dialogue(), "declined", "no to the offer of a human"
        )
    # A whole-message short reply is not a greeting or thanks to answer in kind: "nein danke" and "alles
    # gut" score high on the ``thanks`` intent, yet they answer (or close) what the bot said last.
    substantive = [
        c for c in _answerable_turn(turn, rules) if not _pleasantry(rules.intents.get(c.intent_id))
    ]
    if reply in (Reply.ACK, Reply.WITHDRAW, Reply.YES) and not substantive:
        # Not a question, so not a miss: a polite close, and the conversation stays as it was. A yes to
        # nothing the bot asked ("ja", after an answer) is agreement, the same thing.
        return Decision((SendMessage("acknowledged"),), _quiet(state), "acknowledged", f"{reply.value}")
    if reply is Reply.NO and not substantive:
        # A no to nothing the bot asked (perhaps: "that did not help"): say what it can do and how to
        # reach a person, rather than count a miss.
        return Decision((SendMessage("help"),), _quiet(state), "help", "no without a question")
    return None


def _anger(turn: Turn) -> float:
    return turn.analysis.tone.anger if turn.analysis else 0.0


def _answer(state: ConversationState, intent: Intent, why: str, anger: float, settings: Settings) -> Decision:
    return _answers(state, (intent,), why, anger, settings)


def _answers(
    state: ConversationState,
    intents: tuple[Intent, ...],
    why: str,
    anger: float,
    settings: Settings,
    *,
    partly: bool = False,
) -> Decision:
    """Answer each intent in order; hand over once at the end if any of them escalates."""
    if not state.greeted and all(_pleasantry(i) for i in intents) and not partly:
        # "Hallo" as the very first message: the greeting (which says who the bot is and what it does)
        # is the answer; the ``hello`` answer right after it would introduce the bot twice.
        return Decision((), state.reset_dialogue(), intents[0].id, f"{why}; the greeting answers it")
    escalating = [i for i in intents if i.escalate]
    actions: list[Action] = []
    for index, intent in enumerate(intents):
        last = index == len(intents) - 1
        if escalating:
            # Follow-up buttons after a hand-over would only be forwarded to the human: offer none.
            actions.append(SendAnswer(intent.id, joined=last and not partly))
        else:
            actions.append(SendAnswer(intent.id, tuple(INTENT_PREFIX + f for f in intent.follow_up)))
    if partly:
        actions.append(SendMessage("partly_understood", (HUMAN,) if not escalating else ()))
    if escalating:
        ranks = [i.priority or Priority.NORMAL for i in escalating] + [_calm_priority(anger, settings)]
        priority = max(ranks, key=lambda p: p.rank)
        message = "handoff_after_answer" if not partly else "handoff"
        actions.append(Escalate(Reason.INTENT, priority, message))
    state = state.reset_dialogue()
    if partly and not escalating:
        # ``partly_understood`` ends "… or I can pass you on to our team": a yes or no answers that.
        state = replace(state, offer=OFFER_HUMAN)
    return Decision(tuple(actions), state, intents[0].id, why)


def _candidates(turn: Turn) -> tuple[Candidate, ...]:
    return turn.analysis.match.candidates if turn.analysis else ()


def _passing(candidates: tuple[Candidate, ...], rules: _Rules, *, near: bool = False) -> list[Candidate]:
    """The candidates past their intent's threshold or, with ``near``, close enough to offer in "did you
    mean" (:meth:`Settings.suggest_from`: within ``suggest_band``, never below ``suggest_min_score``)."""
    settings = rules.settings
    passing = []
    for candidate in candidates:
        intent = rules.intents.get(candidate.intent_id)
        if intent is None or not intent.enabled:
            continue
        threshold = intent.threshold(settings)
        if candidate.score >= (settings.suggest_from(threshold) if near else threshold):
            passing.append(candidate)
    return passing


def _answerable(match: MatchResult, rules: _Rules) -> list[Candidate]:
    """The candidates that count as a match: those past their threshold or, when none is, a best intent
    clearly ahead of every other one (long or indirect messages score low but leave no doubt): its
    runner-up scores at most ``lead_ratio`` of its score and it scores ``lead_min_score`` or more. None for
    a message the matcher marks out of scope: a look-alike of something the folder does not cover never
    gets a confident answer."""
    if match.out_of_scope:
        return []
    passing = _passing(match.candidates, rules)
    settings = rules.settings
    leader, second = match.best, match.runner_up
    if passing or leader is None or settings.lead_ratio <= 0:
        return passing
    intent = rules.intents.get(leader.intent_id)
    clear = second is None or second.score <= settings.lead_ratio * leader.score
    if intent is not None and intent.enabled and clear and leader.score >= settings.lead_min_score:
        return [leader]
    return []


def _answerable_turn(turn: Turn, rules: _Rules) -> list[Candidate]:
    return _answerable(turn.analysis.match, rules) if turn.analysis else []


def _clear(match: MatchResult, rules: _Rules) -> Candidate | None:
    """The match's intent when it passes its threshold and no other passing one is close behind."""
    passing = _answerable(match, rules)
    if not passing:
        return None
    if len(passing) > 1 and passing[0].score - passing[1].score < rules.settings.ambiguity_margin:
        return None
    return passing[0]


def _clear_answers(turn: Turn, rules: _Rules) -> tuple[tuple[str, ...], str] | None:
    """The intents a message clearly asks for: the whole message's, or its questions' one by one.

    A question clear on its own counts even when the rest of the message is not ("Wie kann ich
    kündigen??? Ihr seid BETRÜGER!!!"): used where the whole message reaches a person anyway (a waiting
    ticket, the anger rule), so nothing unclear is dropped; ``_match`` says so with ``partly_understood``.
    """
    if turn.analysis is None:
        return None
    parts = _clear_parts(turn.analysis, rules)
    if parts is not None and (parts.answered_by_parts or parts.substantive):
        return parts.intents, parts.why
    whole = _clear(turn.analysis.match, rules)
    if whole is not None:
        return (whole.intent_id,), f"{whole.score:.1f} against {whole.example!r}"
    return None


@dataclass(frozen=True, slots=True)
class _Parts:
    """What the questions of a message of several parts clearly ask for, in message order."""

    intents: tuple[str, ...]
    """Pleasantries ("Hallo, ich habe eine Frage") are left out when a real question is among them."""
    why: str
    all_clear: bool
    """Every part matched clearly (a pleasantry counts as clear)."""
    substantive: bool
    """``intents`` holds a real question, not only pleasantries."""
    dropped: bool
    """A pleasantry was left out."""
    out_of_scope: str = ""
    """When every unclear part is about something the folder does not cover: the matcher's reason for the
    first (empty when some unclear part is merely unclear)."""
    outside_intents: tuple[str, ...] = ()
    """The out-of-scope intents the unclear parts are nearest to (``MatchResult.out_of_scope_intent``)."""

    @property
    def answered_by_parts(self) -> bool:
        """Two or more real questions, or one real question (or greeting) with only pleasantries around."""
        if self.substantive and len(self.intents) >= 2:
            return True
        return self.all_clear and (self.dropped or not self.substantive)


def _clear_parts(analysis: Analysis, rules: _Rules) -> _Parts | None:
    if len(analysis.parts) < 2:
        return None
    found: list[str] = []
    notes: list[str] = []
    unclear = polite = False
    outside: list[str] = []
    for part in analysis.parts:
        best = _clear(part.match, rules)
        opener = best is None or not _pleasantry(rules.intents.get(best.intent_id))
        if opener and (is_pleasantry(part.text) or announces_topic(part.text)):
            # "Danke im Voraus!": nothing to answer, nothing misunderstood. "Hallo, ich habe eine Frage zu
            # meiner Rechnung": its topic may match an intent, but the question is in another part.
            polite = True
            notes.append(f"{part.text!r}: a pleasantry")
        elif best is None:
            unclear = True
            outside.append(part.match.out_of_scope)
            notes.append(f"{part.text!r}: " + ("out of scope" if part.match.out_of_scope else "unclear"))
        elif best.intent_id not in found:
            found.append(best.intent_id)
            notes.append(f"{part.text!r}: {best.intent_id} {best.score:.1f}")
    out_of_scope = outside[0] if outside and all(outside) else ""
    nearest = tuple(p.match.out_of_scope_intent for p in analysis.parts if p.match.out_of_scope_intent)
    if not found:
        return (
            _Parts((), "; ".join(notes), False, False, polite, out_of_scope, nearest)
            if out_of_scope
            else None
        )
    real = tuple(i for i in found if not _pleasantry(rules.intents[i]))
    # Only pleasantries ("Guten Morgen. Vielen Dank im Voraus!"): one polite answer, the first.
    intents = real or tuple(found[:1])
    dropped = polite or len(intents) < len(found)
    why = "; ".join(notes) + ("; pleasantries left out" if dropped else "")
    return _Parts(intents, why, not unclear, bool(real), dropped, out_of_scope, nearest)


def _pleasantry(intent: Intent | None) -> bool:
    """An intent most of whose examples are greetings, thanks or goodbyes (``bot/core/replies.py``).

    Read from the examples rather than a list of ids, so an editor's own greeting intent counts too.
    """
    if intent is None:
        return False
    examples = [e for texts in intent.examples.values() for e in texts]
    return bool(examples) and 2 * sum(map(is_pleasantry, examples)) > len(examples)


def _match(state: ConversationState, turn: Turn, rules: _Rules) -> Decision:
    settings = rules.settings
    candidates = _candidates(turn)
    anger = _anger(turn)
    parts = _clear_parts(turn.analysis, rules) if turn.analysis else None
    if parts is not None and parts.answered_by_parts:
        intents = tuple(rules.intents[i] for i in parts.intents)
        return _answers(state, intents, f"several questions: {parts.why}", anger, settings)
    passing = _answerable_turn(turn, rules)
    if parts is not None and (parts.substantive or not parts.all_clear):
        # The message asks more than a greeting: greeting back would drop the question silently.
        passing = [c for c in passing if not _pleasantry(rules.intents.get(c.intent_id))]
        if not passing and not parts.substantive:
            real = tuple(c for c in candidates if not _pleasantry(rules.intents.get(c.intent_id)))
            return _miss(state, turn, rules, real)
    whole_outside = turn.analysis.match.out_of_scope_intent if turn.analysis else ""
    if parts is not None and whole_outside and whole_outside in parts.outside_intents:
        # The whole message and one of its parts are out of scope for the same reason (nearest to the same
        # out-of-scope intent): a part that matches on its own is then that topic said again ("macht ihr
        # auch kfz-versicherungen? mein auto muss neu versichert werden": the second part alone looks like
        # device insurance), not a second question. Two topics ("what's the weather on mars and how do I
        # change my address?") are out of scope for different reasons, and the clear one is answered.
        return _miss(state, turn, rules, candidates)
    if (
        parts is not None
        and parts.substantive
        and not parts.all_clear
        and (not passing or parts.out_of_scope)
    ):
        # One question clear, the rest not: answer what is clear and say honestly what was not. A part
        # about something the folder does not cover ("… das Wetter auf dem Mars und wie kann ich bezahlen?")
        # is never silently dropped, even when the whole message matches the clear part well enough.
        intent = rules.intents[parts.intents[0]]
        return _answers(state, (intent,), f"part of the message: {parts.why}", anger, settings, partly=True)
    if not passing:
        return _miss(state, turn, rules, candidates)

    best = passing[0]
    close = [c for c in passing if best.score - c.score < settings.ambiguity_margin]
    if len(close) >= 2:
        if state.clarifications >= settings.max_clarifications:
            return _escalate(state, Reason.AMBIGUOUS, Priority.NORMAL, "still ambiguous after clarifying")
        options = tuple(c.intent_id for c in close[:3])
        state = replace(
            state, clarifications=state.clarifications + 1, clarify_options=options, misses=0, offer=None
        )
        scores = ", ".join(f"{c.intent_id} {c.score:.1f}" for c in close[:3])
        return Decision(
            (Clarify(options),), state, "clarify", f"within {settings.ambiguity_margin:g}: {scores}"
        )

    intent = rules.intents[best.intent_id]
    runner = f", runner-up {passing[1].intent_id} {passing[1].score:.1f}" if len(passing) > 1 else ""
    return _answer(state, intent, f"{best.score:.1f} against {best.example!r}{runner}", anger, settings)


def _miss(state: ConversationState, turn: Turn, rules: _Rules, candidates: tuple[Candidate, ...]) -> Decision:
    settings = rules.settings
    misses = state.misses + 1
    best = candidates[0] if candidates else None
    why = f"best {best.intent_id} {best.score:.1f}" if best else "no candidate"
    near = _passing(candidates, rules, near=True)[:3]
    out_of_scope = turn.analysis.match.out_of_scope if turn.analysis else None
    if not out_of_scope and turn.analysis is not None:
        # "Hallo, ich habe eine Frage. Wie wird das Wetter?": the greeting hides from the whole message
        # what its only real part says; with nothing clear beside it, that part decides.
        parts = _clear_parts(turn.analysis, rules)
        out_of_scope = parts.out_of_scope if parts is not None and not parts.substantive else ""
    if out_of_scope:
        why += f"; out of scope: {out_of_scope}"
        near = []  # offering the look-alike intents would suggest the bot covers the topic after all
    lead = _clear_lead(near, candidates, settings)
    if lead is not None and misses <= settings.max_misses:
        # A near miss far ahead of everything else is worth one question whatever came before: "how do I
        # cancel only the landline" after a miss is still a cancellation question. Bounded by max_misses.
        state = replace(state, misses=misses, clarify_options=(lead,), offer=None)
        return Decision((Clarify((lead,)),), state, "clarify", f"near miss with a clear lead: {why}")
    if misses >= settings.max_misses:
        return _escalate(state, Reason.UNMATCHED, Priority.NORMAL, f"{misses} misses in a row ({why})")
    if near and state.clarifications < settings.max_clarifications:
        # Close to a threshold: offering the candidates beats "please rephrase". Still a miss, so
        # max_misses bounds the conversation exactly as before.
        options = tuple(c.intent_id for c in near)
        state = replace(
            state,
            misses=misses,
            clarifications=state.clarifications + 1,
            clarify_options=options,
            offer=None,
        )
        return Decision((Clarify(options),), state, "clarify", f"near miss: {why} < {settings.min_score:g}")
    state = replace(
        state, misses=misses, clarifications=0, clarify_options=(), offer=OFFER_HUMAN, rephrase_asked=True
    )
    return Decision((SendMessage("not_understood", (HUMAN,)),), state, "not_understood", why)


def _clear_lead(near: list[Candidate], candidates: tuple[Candidate, ...], settings: Settings) -> str | None:
    """The one near miss that stands ``2 * ambiguity_margin`` ahead of every other candidate."""
    if not near:
        return None
    runner = next((c for c in candidates if c.intent_id != near[0].intent_id), None)
    if runner is not None and near[0].score - runner.score < 2 * settings.ambiguity_margin:
        return None
    return near[0].intent_id
