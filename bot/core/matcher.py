"""Fuzzy intent matching: which of the editors' intents a customer message means, and why.

How a score comes about (details and examples for editors in ``docs/matching.md``):

1. Every example is normalised once (:func:`bot.core.normalize.normalize`) and cut into features: its words
   and the 3- and 4-letter pieces of each word. A feature's weight is its IDF, so words that occur in many
   examples ("i", "my", "bitte") count little and words that tell intents apart ("rechnung", "pin") a lot.
   Letter pieces make the comparison typo-tolerant: "rechnug" shares most pieces with "rechnung".
2. A message is compared with every example by cosine similarity of these weighted features (an inverted
   index makes this fast: only examples sharing a feature with the message are touched).
3. The closest examples are re-scored with rapidfuzz (``token_sort_ratio`` on the normalised texts), the
   classic typo-tolerant string similarity. An example's score blends both views on the 0-100 scale.
4. An intent's score is its best example's score, nudged towards the mean of its next-best examples: an
   intent that several examples support is more credible than one lucky near-duplicate.

Each :class:`~bot.core.model.Candidate` names the example that explains its score; :meth:`IntentIndex.explain`
prints the components. Thresholds (``min_score``, ``ambiguity_margin``) are the dialogue policy's business.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from bot.core.model import Candidate, Intent, Lang, MatchResult, Settings
from bot.core.normalize import normalize

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """The scoring knobs, in one place so benchmarks and docs can name them."""

    ngram_sizes: tuple[int, ...] = (3, 4)
    word_weight: float = 1.0
    """Weight of whole-word features relative to letter pieces."""
    rerank: int = 40
    """How many nearest examples (by cosine) are re-scored with rapidfuzz."""
    cosine_weight: float = 0.6
    """Share of the cosine similarity in an example's score; the rest is rapidfuzz."""
    support: int = 3
    """Examples of the same intent averaged into its support."""
    support_weight: float = 0.2
    """How far an intent's score moves from its best example towards its support mean."""
    cross_language_factor: float = 0.9
    """Examples in another language than the message still count, discounted by this factor."""


DEFAULT_CONFIG = MatcherConfig()


@dataclass(frozen=True, slots=True)
class _Entry:
    intent: int
    """Index into ``IntentIndex.intent_ids``."""
    language: Lang
    text: str
    """The editor's original spelling."""
    normalized: str


class _Vectorizer:
    """Sparse TF-IDF features over a fixed vocabulary, as (feature ids, weights) with unit L2 norm."""

    def __init__(self, config: MatcherConfig) -> None:
        self.config = config
        self.vocabulary: dict[str, int] = {}
        self.idf: FloatArray = np.zeros(0, dtype=np.float32)

    def features(self, normalized: str) -> dict[str, float]:
        counts: dict[str, float] = {}
        word_weight = self.config.word_weight
        for word in normalized.split():
            key = "w " + word
            counts[key] = counts.get(key, 0.0) + word_weight
            padded = f" {word} "
            for n in self.config.ngram_sizes:
                for i in range(len(padded) - n + 1):
                    gram = padded[i : i + n]
                    counts[gram] = counts.get(gram, 0.0) + 1.0
        return counts

    def fit(self, documents: Sequence[dict[str, float]]) -> None:
        df: dict[str, int] = {}
        for doc in documents:
            for key in doc:
                df[key] = df.get(key, 0) + 1
        self.vocabulary = {key: i for i, key in enumerate(df)}
        n = len(documents)
        self.idf = np.array(
            [math.log((1 + n) / (1 + count)) + 1.0 for count in df.values()], dtype=np.float32
        )

    def transform(self, counts: dict[str, float]) -> tuple[IntArray, FloatArray]:
        ids: list[int] = []
        tfs: list[float] = []
        for key, tf in counts.items():
            index = self.vocabulary.get(key)
            if index is not None:
                ids.append(index)
                tfs.append(1.0 + math.log(tf) if tf > 1.0 else tf)
        id_array = np.array(ids, dtype=np.int32)
        weights = np.array(tfs, dtype=np.float32) * self.idf[id_array]
        norm = float(np.linalg.norm(weights))
        if norm > 0:
            weights /= norm
        return id_array, weights


class _InvertedIndex:
    """Examples by feature (CSC layout), so a query touches only the examples that share a feature."""

    def __init__(self, rows: Sequence[tuple[IntArray, FloatArray]], n_features: int) -> None:
        self.size = len(rows)
        if not rows:
            self.starts = np.zeros(n_features + 1, dtype=np.int64)
            self.examples = np.zeros(0, dtype=np.int32)
            self.weights = np.zeros(0, dtype=np.float32)
            return
        lengths = np.array([len(ids) for ids, _ in rows], dtype=np.int64)
        example_ids = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
        feature_ids = np.concatenate([ids for ids, _ in rows])
        weights = np.concatenate([w for _, w in rows])
        order = np.argsort(feature_ids, kind="stable")
        self.examples = example_ids[order]
        self.weights = weights[order]
        counts = np.bincount(feature_ids, minlength=n_features)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def cosine(self, ids: IntArray, weights: FloatArray) -> FloatArray:
        """Cosine similarity of the query with every example (0 where nothing is shared)."""
        if self.size == 0 or len(ids) == 0:
            return np.zeros(self.size, dtype=np.float32)
        starts, ends = self.starts[ids], self.starts[ids + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.size, dtype=np.float32)
        # Gather all postings of the query's features in one vectorised step.
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(total, dtype=np.int64) + offsets
        contribution = self.weights[positions] * np.repeat(weights, lengths)
        scores = np.bincount(self.examples[positions], weights=contribution, minlength=self.size)
        return scores.astype(np.float32)


@dataclass(frozen=True, slots=True)
class _Scored:
    entry: int
    score: float
    cosine: float
    fuzzy: float


class IntentIndex:
    """The enabled intents' examples, prepared once per content load; :meth:`match` is read-only."""

    def __init__(
        self,
        intent_ids: Sequence[str],
        entries: Sequence[_Entry],
        not_entries: Sequence[_Entry],
        settings: Settings,
        config: MatcherConfig = DEFAULT_CONFIG,
    ) -> None:
        self.intent_ids: tuple[str, ...] = tuple(intent_ids)
        self.settings = settings
        self.config = config
        self.entries: tuple[_Entry, ...] = tuple(entries)
        self.not_entries: tuple[_Entry, ...] = tuple(not_entries)
        self._vectorizer = _Vectorizer(config)
        example_features = [self._vectorizer.features(e.normalized) for e in self.entries]
        self._vectorizer.fit(example_features)
        n_features = len(self._vectorizer.vocabulary)
        self._examples = _InvertedIndex([self._vectorizer.transform(f) for f in example_features], n_features)
        self._not_examples = _InvertedIndex(
            [self._vectorizer.transform(self._vectorizer.features(e.normalized)) for e in self.not_entries],
            n_features,
        )
        self._entry_intent = np.array([e.intent for e in self.entries], dtype=np.int32)
        languages = sorted({e.language for e in self.entries})
        self.languages: tuple[Lang, ...] = tuple(languages)
        self._entry_language = np.array([languages.index(e.language) for e in self.entries], dtype=np.int32)

    @classmethod
    def build(
        cls, intents: Sequence[Intent], settings: Settings, config: MatcherConfig = DEFAULT_CONFIG
    ) -> IntentIndex:
        """Index the enabled intents' examples and not_examples (normalised once, duplicates dropped)."""
        intent_ids: list[str] = []
        entries: list[_Entry] = []
        not_entries: list[_Entry] = []
        for intent in intents:
            if not intent.enabled:
                continue
            position = len(intent_ids)
            intent_ids.append(intent.id)
            entries.extend(_entries(position, intent.examples.items()))
            not_entries.extend(_entries(position, intent.not_examples.items()))
        return cls(intent_ids, entries, not_entries, settings, config)

    def __len__(self) -> int:
        return len(self.entries)

    # --- scoring ------------------------------------------------------------------------------------

    def _language_factor(self, language: Lang | None) -> FloatArray:
        factors = np.ones(len(self.entries), dtype=np.float32)
        if language is not None and language in self.languages:
            other = self._entry_language != self.languages.index(language)
            factors[other] = self.config.cross_language_factor
        return factors

    def _score_examples(self, query: str, language: Lang | None) -> list[_Scored]:
        """The best examples for ``query`` with their blended scores, best first."""
        ids, weights = self._vectorizer.transform(self._vectorizer.features(query))
        cosine = self._examples.cosine(ids, weights)
        if len(cosine) == 0:
            return []
        factor = self._language_factor(language)
        ranked = cosine * factor
        k = min(self.config.rerank, len(ranked))
        top = np.argpartition(-ranked, k - 1)[:k] if k < len(ranked) else np.arange(len(ranked))
        scored: list[_Scored] = []
        w = self.config.cosine_weight
        for index in top.tolist():
            cos = float(cosine[index])
            if cos <= 0.0:
                continue
            fuzzy = float(fuzz.token_sort_ratio(query, self.entries[index].normalized))
            blended = (w * 100.0 * cos + (1.0 - w) * fuzzy) * float(factor[index])
            scored.append(_Scored(index, blended, cos, fuzzy))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _blocked(self, query: str, best_per_intent: dict[int, _Scored]) -> set[int]:
        """Intents whose not_examples match ``query`` better than their examples do."""
        if not self.not_entries:
            return set()
        ids, weights = self._vectorizer.transform(self._vectorizer.features(query))
        cosine = self._not_examples.cosine(ids, weights)
        blocked: set[int] = set()
        w = self.config.cosine_weight
        for index in np.nonzero(cosine > 0)[0].tolist():
            entry = self.not_entries[index]
            best = best_per_intent.get(entry.intent)
            if best is None:
                continue
            fuzzy = float(fuzz.token_sort_ratio(query, entry.normalized))
            score = w * 100.0 * float(cosine[index]) + (1.0 - w) * fuzzy
            if score > best.score:
                blocked.add(entry.intent)
        return blocked

    def _rank(
        self, text: str, language: Lang | None
    ) -> tuple[list[tuple[int, float, _Scored, float]], set[int]]:
        query = normalize(text)
        if not query:
            return [], set()
        scored = self._score_examples(query, language)
        per_intent: dict[int, list[_Scored]] = {}
        for item in scored:
            per_intent.setdefault(self.entries[item.entry].intent, []).append(item)
        best = {intent: items[0] for intent, items in per_intent.items()}
        blocked = self._blocked(query, best)
        ranked: list[tuple[int, float, _Scored, float]] = []
        support_n, support_w = self.config.support, self.config.support_weight
        for intent, items in per_intent.items():
            if intent in blocked:
                continue
            top = [s.score for s in items[:support_n]]
            top += [0.0] * (support_n - len(top))
            support = sum(top) / support_n
            score = (1.0 - support_w) * items[0].score + support_w * support
            ranked.append((intent, min(100.0, max(0.0, score)), items[0], support))
        ranked.sort(key=lambda r: -r[1])
        return ranked, blocked

    def match(self, text: str, language: Lang | None = None, limit: int = 5) -> MatchResult:
        """Ranked candidates for ``text``, best first, at most one per intent and ``limit`` in all.

        ``language`` prefers that language's examples (others count, discounted by
        ``cross_language_factor``); ``None`` treats every language alike.
        """
        ranked, blocked = self._rank(text, language)
        candidates = tuple(
            Candidate(
                intent_id=self.intent_ids[intent],
                score=round(score, 1),
                example=self.entries[best.entry].text,
                language=self.entries[best.entry].language,
            )
            for intent, score, best, _ in ranked[: max(0, limit)]
        )
        return MatchResult(
            candidates=candidates,
            language=language,
            blocked=tuple(self.intent_ids[i] for i in sorted(blocked)),
        )

    def explain(self, text: str, language: Lang | None = None, limit: int = 3) -> str:
        """A human-readable account of :meth:`match`: top candidates, their examples and score parts."""
        query = normalize(text)
        lines = [f"message {text!r} -> normalised {query!r}" + (f" [{language}]" if language else "")]
        ranked, blocked = self._rank(text, language)
        if not ranked:
            lines.append("  no example shares a word or letter sequence with the message")
        for place, (intent, score, best, support) in enumerate(ranked[:limit], start=1):
            entry = self.entries[best.entry]
            lines.append(
                f"  {place}. {self.intent_ids[intent]}: {score:.1f} -- best example {entry.text!r} ({entry.language}) "
                f"scored {best.score:.1f} (cosine {100 * best.cosine:.0f}, fuzzy {best.fuzzy:.0f}); "
                f"support of top {self.config.support} examples {support:.1f}"
            )
        if len(ranked) >= 2:
            lines.append(f"  margin to runner-up: {ranked[0][1] - ranked[1][1]:.1f}")
        for intent in sorted(blocked):
            lines.append(
                f"  blocked: {self.intent_ids[intent]} (the message is closer to one of its not_examples)"
            )
        return "\n".join(lines)


def _entries(intent: int, examples: Iterable[tuple[Lang, tuple[str, ...]]]) -> list[_Entry]:
    entries: list[_Entry] = []
    for language, texts in examples:
        seen: set[str] = set()
        for text in texts:
            normalized = normalize(text)
            if normalized and normalized not in seen:
                seen.add(normalized)
                entries.append(_Entry(intent, language, text, normalized))
    return entries
