"""Quality checks on a folder that loads: things that are not wrong, but make the bot answer worse.

Collisions are measured with the real matcher (:class:`bot.core.matcher.IntentIndex`), so "scores 87 for
invoice_wrong" here is exactly what a customer typing that example would get from the running bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from bot.content.embeddings import default_embedder
from bot.content.loader import LoadResult, SourceKey
from bot.content.problems import Problem, sort_problems
from bot.core.matcher import IntentIndex
from bot.core.model import Content, SourceRef
from bot.core.normalize import normalize
from bot.core.templates import placeholders

MIN_EXAMPLES = 3
"""Fewer phrasings than this per language and an intent is reached mostly by luck."""


@dataclass(frozen=True, slots=True)
class Collision:
    """An example of ``intent`` that the matcher also scores at or above ``other``'s threshold."""

    intent: str
    language: str
    example: str
    other: str
    other_example: str
    score: float
    threshold: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckReport:
    problems: list[Problem]
    """Loader warnings plus the checks' own warnings."""
    collisions: list[Collision]


def collisions(content: Content, index: IntentIndex | None = None) -> list[Collision]:
    """For every example, the best other intent that reaches its own threshold on that example's text."""
    enabled = [intent for intent in content.intents if intent.enabled]
    index = index or IntentIndex.build(enabled, content.settings, embedder=default_embedder())
    thresholds = {intent.id: intent.threshold(content.settings) for intent in enabled}
    found: list[Collision] = []
    for intent in enabled:
        for language, examples in intent.examples.items():
            for example in examples:
                for candidate in index.match(example, language, limit=3).candidates:
                    if candidate.intent_id == intent.id:
                        continue
                    threshold = thresholds[candidate.intent_id]
                    if candidate.score >= threshold:
                        found.append(
                            Collision(
                                intent.id,
                                language,
                                example,
                                candidate.intent_id,
                                candidate.example,
                                candidate.score,
                                threshold,
                            )
                        )
                    break  # only the best other intent
    return found


def _where(sources: Mapping[SourceKey, SourceRef], key: SourceKey, fallback: SourceRef | None) -> SourceRef:
    return sources.get(key) or fallback or SourceRef("?", 1)


def collision_problems(result: LoadResult, found: list[Collision]) -> list[Problem]:
    content, sources = result.content, result.sources
    problems: list[Problem] = []
    for c in found:
        intent = content.intent(c.intent)
        index = intent.examples[c.language].index(c.example) if intent else 0
        fallback = intent.source if intent else None
        ref = _where(sources, ("intent", c.intent, "examples", c.language, index), fallback)
        problems.append(
            Problem(
                ref.path,
                ref.line,
                f"{c.intent}.examples.{c.language}[{index}]",
                f"'{c.example}' also scores {c.score:g} for '{c.other}' (its example '{c.other_example}', "
                f"threshold {c.threshold:g}); make the two intents' examples more distinct, or add the "
                f"text to {c.other}'s not_examples",
                "warning",
            )
        )
    return problems


def few_examples(result: LoadResult, minimum: int = MIN_EXAMPLES) -> list[Problem]:
    problems: list[Problem] = []
    for intent in result.content.intents:
        for language, examples in intent.examples.items():
            if 0 < len(examples) < minimum and intent.enabled:
                ref = _where(result.sources, ("intent", intent.id), intent.source)
                problems.append(
                    Problem(
                        ref.path,
                        ref.line,
                        f"{intent.id}.examples.{language}",
                        f"has only {len(examples)} example(s) in '{language}'; write at least {minimum} "
                        "different phrasings so the matcher can tell it apart",
                        "warning",
                    )
                )
    return problems


def duplicate_examples(result: LoadResult) -> list[Problem]:
    """Examples that are the same once normalised: they add nothing, and usually mean a copy-paste slip."""
    problems: list[Problem] = []
    for intent in result.content.intents:
        for language, examples in intent.examples.items():
            first: dict[str, int] = {}
            for index, example in enumerate(examples):
                key = normalize(example)
                if key in first:
                    ref = _where(
                        result.sources, ("intent", intent.id, "examples", language, index), intent.source
                    )
                    problems.append(
                        Problem(
                            ref.path,
                            ref.line,
                            f"{intent.id}.examples.{language}[{index}]",
                            f"'{example}' is the same as example {first[key]} ('{examples[first[key]]}') once "
                            "case, umlauts and punctuation are ignored; write a different phrasing",
                            "warning",
                        )
                    )
                else:
                    first[key] = index
    return problems


def unused_variables(result: LoadResult) -> list[Problem]:
    content = result.content
    used: set[str] = set()
    texts = [text for intent in content.intents for answers in intent.answers.values() for text in answers]
    texts += [text for message in content.messages.values() for text in message.values()]
    for text in texts:
        used.update(placeholders(text))
    problems: list[Problem] = []
    for name in content.variables:
        if name not in used:
            ref = _where(result.sources, ("variable", name), None)
            problems.append(
                Problem(
                    ref.path,
                    ref.line,
                    f"variables.{name}",
                    f"${name} is not used by any answer or message",
                    "warning",
                )
            )
    return problems


def idle_priorities(result: LoadResult) -> list[Problem]:
    """``priority`` only applies when the intent hands over; on an intent that never does, it is a slip."""
    problems: list[Problem] = []
    for intent in result.content.intents:
        if intent.priority is not None and not intent.escalate:
            ref = _where(result.sources, ("intent", intent.id), intent.source)
            problems.append(
                Problem(
                    ref.path,
                    ref.line,
                    f"{intent.id}.priority",
                    f"priority '{intent.priority.value}' has no effect without 'escalate: true' (the bot only "
                    "opens a ticket for this intent when it escalates); add escalate: true or remove it",
                    "warning",
                )
            )
    return problems


def run_checks(result: LoadResult) -> CheckReport:
    """Everything ``intents check`` reports about a folder that loaded."""
    found = collisions(result.content)
    problems = sort_problems(
        [
            *result.warnings,
            *few_examples(result),
            *duplicate_examples(result),
            *unused_variables(result),
            *idle_priorities(result),
            *collision_problems(result, found),
        ]
    )
    return CheckReport(problems, found)
