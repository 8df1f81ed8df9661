"""One intents folder, compiled for answering: matcher index, tone analyser, renderer.

A reload builds a new :class:`Brain` off to the side and swaps the reference in one assignment, so a
message in flight finishes with the brain it started with and never sees half an index.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.content.embeddings import default_embedder
from bot.core.language import detect_language
from bot.core.matcher import IntentIndex
from bot.core.model import Analysis, Content, Intent, Lang, MatchResult, PartMatch
from bot.core.policy import ConversationState, Decision, Situation, Turn, decide
from bot.core.render import Renderer
from bot.core.split import split_questions
from bot.core.tone import ToneAnalyzer

MAX_ANALYSED_CHARS = 2000
"""Longer messages are stored whole but analysed by their start: intent lives in the first lines."""


@dataclass(frozen=True, slots=True)
class Brain:
    content: Content
    index: IntentIndex
    tone: ToneAnalyzer
    renderer: Renderer
    intents: dict[str, Intent]

    @classmethod
    def build(cls, content: Content, rng: random.Random | None = None) -> Brain:
        enabled = [intent for intent in content.intents if intent.enabled]
        return cls(
            content=content,
            index=IntentIndex.build(enabled, content.settings, embedder=default_embedder()),
            tone=ToneAnalyzer(content.tone, content.settings.languages),
            renderer=Renderer(content, rng),
            intents={intent.id: intent for intent in enabled},
        )

    def detect_language(self, text: str, *, hint: Lang | None, previous: Lang | None) -> Lang:
        supported = self.content.settings.languages
        hint = hint if hint in supported else None
        previous = previous if previous in supported else None
        return detect_language(text, supported, hint=hint, previous=previous)

    def analyze(
        self,
        text: str,
        *,
        language: Lang | None = None,
        hint: Lang | None = None,
        previous: Lang | None = None,
        recent: Sequence[str] = (),
        misses: int = 0,
    ) -> Analysis:
        """Language, ranked intents and tone for one message. ``language`` skips detection."""
        text = text[:MAX_ANALYSED_CHARS]
        lang = language or self.detect_language(text, hint=hint, previous=previous)
        split = split_questions(text)
        questions = list(split) if len(split) > 1 else []
        # One encoder call for the message and its questions: the encoder's cost is mostly streaming its
        # weights, once per call, so two calls cost half as much again as one call for both texts.
        texts = [text, *questions] if text.strip() else []
        vectors = self.index.message_vectors(texts, lang) or [None] * (1 + len(questions))
        match = self.index.match(text, lang, vector=vectors[0]) if text.strip() else MatchResult((), lang)
        # The matcher ran the sentence encoder already; the tone analyser reuses that vector (running the
        # encoder a second time would cost more than the whole tone analysis).
        vector = match.vector if self.tone.accepts_vectors(match.vector_model) else None
        tone = self.tone.analyze(text, lang, recent=recent, misses=misses, vector=vector)
        parts = tuple(
            PartMatch(q, self.index.match(q, lang, vector=v))
            for q, v in zip(questions, vectors[1:], strict=True)
        )
        return Analysis(language=lang, match=match, tone=tone, parts=parts)

    def decide(self, state: ConversationState, turn: Turn, situation: Situation) -> Decision:
        return decide(state, turn, situation, self.content.settings, self.intents)

    def first_turn(self, text: str, language: Lang | None = None) -> tuple[Analysis, Decision]:
        """The analysis of ``text`` and what a brand-new conversation does with it."""
        analysis = self.analyze(text, language=language)
        decision = self.decide(
            ConversationState(language=analysis.language),
            Turn(now=datetime.now(UTC), text=text, analysis=analysis),
            Situation(),
        )
        return analysis, decision

    def first_turn_outcome(self, text: str, language: Lang | None = None) -> str:
        """What a brand-new conversation does with ``text``: the semantics of the editors' ``tests:``.

        Returns an intent id, ``clarify``, ``not_understood``, ``escalate`` or another of
        :data:`bot.core.policy.OUTCOMES` (``help``, ``acknowledged`` …).
        """
        return self.first_turn(text, language)[1].outcome
