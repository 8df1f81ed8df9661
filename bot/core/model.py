"""Plain, immutable types shared by every layer.

The content layer validates the editors' YAML and produces these; the core computes on them without I/O;
storage persists the enums' string values. Keeping them free of pydantic and of any channel means the core
can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Lang = str
"""An ISO 639-1 language code such as ``de`` or ``en``."""


def _frozen(mapping: Mapping[str, object] | None = None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where something was defined, so errors and explanations can point editors at a line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    title: Mapping[Lang, str]
    examples: Mapping[Lang, tuple[str, ...]]
    answers: Mapping[Lang, tuple[str, ...]]
    not_examples: Mapping[Lang, tuple[str, ...]] = field(default_factory=dict)
    min_score: float | None = None
    """This intent's own threshold (0-100); ``None`` means ``Settings.min_score``."""
    follow_up: tuple[str, ...] = ()
    escalate: bool = False
    enabled: bool = True
    tags: tuple[str, ...] = ()
    source: SourceRef | None = None
    priority: Priority | None = None
    """Project addition: the ticket priority when this intent hands over (``None``: normal)."""

    def threshold(self, settings: Settings) -> float:
        return settings.min_score if self.min_score is None else self.min_score


@dataclass(frozen=True, slots=True)
class Settings:
    languages: tuple[Lang, ...] = ("de", "en")
    min_score: float = 75.0
    ambiguity_margin: float = 6.0
    max_misses: int = 2
    anger_threshold: float = 60.0
    # Project additions (the spec allows new fields, never new meanings for old ones):
    handoff_ack_quiet_minutes: float = 30.0
    """While a human has the ticket, ``handoff_ack`` is sent at most once per this many quiet minutes."""
    max_clarifications: int = 1
    """Clarifying questions in a row before an ambiguous conversation goes to a human."""
    suggest_band: float = 15.0
    """A message that misses every threshold by less than this many points gets "did you mean …?"
    with the near misses instead of a flat "not understood" (it still counts as a miss)."""
    suggest_min_score: float = 15.0
    """Whatever the band, a candidate scoring below this is not a near miss and is never offered: with a
    low threshold and a wide band, "did you mean" would otherwise reach scores that mean nothing. On the
    realistic dev set the lowest score of a "did you mean" that offered the right intent is 15.1 (lexical)
    and 16.3 (with the meaning model), both long messages (docs/matching.md)."""
    lead_ratio: float = 0.0
    """The best intent is answered below its threshold when the runner-up scores at most this fraction of
    its score (and it scores at least ``lead_min_score``): long and indirect messages score modestly but
    clearly ahead. 0 (the default) turns the rule off; ``intents test`` recommends a value for a folder."""
    lead_min_score: float = 100.0
    """The lowest score the lead rule (``lead_ratio``) answers at."""

    def suggest_from(self, threshold: float) -> float:
        """The lowest score offered in "did you mean" for an intent with this threshold (one rule for the
        policy and for ``intents suggest``): ``suggest_band`` below it, never under ``suggest_min_score``."""
        return max(threshold - self.suggest_band, self.suggest_min_score)

    @property
    def default_language(self) -> Lang:
        return self.languages[0]


@dataclass(frozen=True, slots=True)
class ToneLexicon:
    """Editor-maintained tone phrases, per language (spec section ``tone``)."""

    anger: Mapping[Lang, Mapping[str, float]] = field(default_factory=dict)
    """Phrase -> weight (a positive number; the spec's examples use 1-3)."""
    handoff: Mapping[Lang, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TestCase:
    """One editors' regression case. ``expect`` is an intent id, ``escalate`` or ``not_understood``."""

    __test__ = False  # not a pytest class

    text: str
    expect: str
    language: Lang | None = None
    source: SourceRef | None = None


Variable = str | Mapping[Lang, str]


@dataclass(frozen=True, slots=True)
class Content:
    """One validated intents folder: everything the bot knows and says."""

    intents: tuple[Intent, ...]
    messages: Mapping[str, Mapping[Lang, str]]
    """Message name -> language -> ``string.Template`` text (defaults merged with the folder's)."""
    variables: Mapping[str, Variable]
    tone: ToneLexicon
    settings: Settings
    tests: tuple[TestCase, ...] = ()
    fingerprint: str = ""
    """Hash of the folder's files: equal fingerprints mean equal content."""

    def intent(self, intent_id: str) -> Intent | None:
        for intent in self.intents:
            if intent.id == intent_id:
                return intent
        return None

    def variables_for(self, language: Lang) -> dict[str, str]:
        """Variables resolved for one language (per-language values fall back to the default)."""
        resolved: dict[str, str] = {}
        for name, value in self.variables.items():
            if isinstance(value, str):
                resolved[name] = value
            else:
                picked = value.get(language) or value.get(self.settings.default_language)
                resolved[name] = picked if picked is not None else next(iter(value.values()), "")
        return resolved


# --- analysis of one customer message -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked intent for a message, with the evidence that explains its score."""

    intent_id: str
    score: float
    """0-100, the rapidfuzz scale."""
    example: str
    """The editor's example (original spelling) that matched best."""
    language: Lang


@dataclass(frozen=True, slots=True)
class MatchResult:
    candidates: tuple[Candidate, ...]
    """Best first; the matcher returns a few, not all."""
    language: Lang | None = None
    blocked: tuple[str, ...] = ()
    """Intents suppressed because the message matched one of their ``not_examples``."""
    out_of_scope: str = ""
    """Why the matcher thinks the message is about something the folder does not cover (empty: no such
    evidence): it is nearest to an intent tagged ``out_of_scope``, or nothing it means is near any example.
    The policy never answers such a message."""
    out_of_scope_intent: str = ""
    """The intent tagged ``out_of_scope`` the message is nearest to, when that is the reason (else empty)."""
    vector: Sequence[float] | npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)
    """The message's sentence vector when the matcher's meaning model ran (``vector_model`` names the
    encoder): the tone analyser reuses it instead of running the encoder a second time."""
    vector_model: str = field(default="", compare=False, repr=False)

    @property
    def lead(self) -> float:
        """How far the best candidate is ahead of the runner-up (its whole score when it is alone)."""
        if not self.candidates:
            return 0.0
        runner_up = self.runner_up
        return self.candidates[0].score - (runner_up.score if runner_up is not None else 0.0)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def runner_up(self) -> Candidate | None:
        return self.candidates[1] if len(self.candidates) > 1 else None


@dataclass(frozen=True, slots=True)
class ToneResult:
    anger: float = 0.0
    """0-100."""
    reasons: tuple[str, ...] = ()
    """Human-readable evidence, e.g. ``phrase 'Frechheit' (+30)``, ``capitals 80% (+15)``."""
    wants_human: bool = False
    handoff_phrase: str | None = None


NEUTRAL_TONE = ToneResult()


@dataclass(frozen=True, slots=True)
class PartMatch:
    """One question of a message that asks several (see :mod:`bot.core.split`), ranked on its own."""

    text: str
    match: MatchResult


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the core worked out about one message; stored with the message for staff."""

    language: Lang
    match: MatchResult
    tone: ToneResult = NEUTRAL_TONE
    parts: tuple[PartMatch, ...] = ()
    """The message's questions ranked one by one, when it asks more than one; empty otherwise."""


# --- tickets ----------------------------------------------------------------------------------------


class Reason(StrEnum):
    """Why a conversation went to a human."""

    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    ANGRY = "angry"
    REQUESTED = "requested"
    INTENT = "intent"
    ATTACHMENT = "attachment"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher is more urgent; queues sort by it."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketStatus(StrEnum):
    BOT = "bot"
    """Created by the bot, not yet in the human queue (reserved for future use by channels)."""
    OPEN = "open"
    ASSIGNED = "assigned"
    WAITING = "waiting"
    """Waiting for the customer."""
    SNOOZED = "snoozed"
    RESOLVED = "resolved"

    @property
    def active(self) -> bool:
        """A human owns the conversation while its ticket is active: the bot must not answer over them."""
        return self is not TicketStatus.RESOLVED


class Author(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"


ATTACHMENT_KINDS = (
    "photo",
    "voice",
    "audio",
    "video",
    "sticker",
    "document",
    "location",
    "contact",
    "other",
)
