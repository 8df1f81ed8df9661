"""Fuzzy intent matching: which of the editors' intents a customer message means, and why.

A score is a weighted sum of four pieces of evidence, each on 0-1, reported on the 0-100 scale (details and
worked examples for editors in ``docs/matching.md``):

* **similarity to the best example** (weight ``example_weight``): cosine similarity of IDF-weighted features
  (words, word pairs and the 3- and 4-letter pieces of each word) blended with rapidfuzz's
  ``token_sort_ratio`` on the normalised texts. Letter pieces and rapidfuzz make it typo-tolerant
  ("rechnug" ~ "rechnung"), IDF makes words that tell intents apart count more than "i" or "bitte";
* **support** (weight ``support_weight``): the mean similarity of the intent's best few examples, because an
  intent several examples agree on is more credible than one lucky near-duplicate;
* **vote** (weight ``vote_weight``): the intent's similarity-weighted share of the message's ten nearest
  examples of any intent (a kNN vote);
* **intent model** (weight ``model_weight``): the probability of the intent under a mix of a multinomial
  naive Bayes model and a multinomial logistic regression (``bot.core.matching_linear``), both fitted at
  load time on all examples' features. They learn which words and letter pieces are typical of an intent
  across all its examples, which single-example similarity cannot see. With an embedder (the default
  install's multilingual sentence encoder), a *meaning* model (``bot.core.matching_semantic``: a regression
  on sentence vectors) takes 70% of this weight for German and English messages; it is the one piece that
  needs no shared spelling, so the similarity gate (``relative_gate``) does not damp it.

Before any of this, words no example uses are repaired to the example word one edit away
(``bot.core.spelling``: "contrakt" -> "contract"); ``explain`` lists each repair.

A message that is (nearly) one of the examples scores at least ``100 * similarity ** near_copy_power``, so
the scale stays readable for editors. Every :class:`~bot.core.model.Candidate` names the example behind the
first piece; :meth:`IntentIndex.explain` prints all parts, the nearest example in meaning and the runner-up.
Thresholds (``min_score``, ``ambiguity_margin``, ``lead_ratio``) are the dialogue policy's business; the
matcher reports the evidence it needs: the lead over the runner-up (``MatchResult.lead``) and whether the
message looks out of scope (``MatchResult.out_of_scope``: nearest to an intent tagged ``out_of_scope``).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import count, pairwise

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from bot.core.matching_linear import LinearIntentModel
from bot.core.matching_semantic import Embedder, SemanticIntentModel, WordFeatures, embed_messages
from bot.core.matching_stem import stem
from bot.core.model import Candidate, Intent, Lang, MatchResult, Settings
from bot.core.normalize import normalize
from bot.core.spelling import SpellingRepair

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """The scoring knobs, in one place so benchmarks and docs can name them."""

    ngram_sizes: tuple[int, ...] = (3, 4)
    """Letter pieces taken from each word (padded with spaces, so word starts and ends are pieces too)."""
    prefix_length: int = 0
    """Also use each longer word's first letters as a feature: a crude stemmer ("cancelled" ~ "cancel")."""
    word_pairs: bool = True
    """Adjacent word pairs as features: "card arrive" means more than "card" and "arrive" apart."""
    stem_words: bool = True
    """Word and word-pair features are taken on crude stems (``bot.core.matching_stem``: "charged" and
    "charges" are one word feature); letter pieces and rapidfuzz always see the words as written."""
    spelling_repair: bool = True
    """Replace words no example uses by the example word one edit away before matching
    (``bot.core.spelling``), for the lexical evidence and the meaning model alike."""
    rerank: int = 40
    """How many nearest examples (by cosine) are re-scored with rapidfuzz."""
    cosine_weight: float = 0.4
    """Share of the cosine similarity in an example's similarity; the rest is rapidfuzz."""
    support: int = 3
    """Best examples of an intent (in the best example's language) averaged into its support."""
    example_weight: float = 0.35
    support_weight: float = 0.15
    model_weight: float = 0.35
    model_smoothing: float = 0.01
    """Naive Bayes additive smoothing: small values trust rare features more."""
    model_temperature: float = 0.8
    """Sharpness of the naive Bayes probabilities (higher: more confident)."""
    linear_share: float = 0.7
    """Share of the fitted linear model (``bot.core.matching_linear``) in the model probability; the rest is
    naive Bayes. 0 turns the linear model off (and skips its fit)."""
    linear_temperature: float = 2.0
    linear_rate: float = 3.0
    """Initial SGD step of the linear model (divided by 1 + epoch)."""
    linear_epochs: int = 10
    linear_max_updates: int = 20_000
    """At most this many example updates in the fit at ``linear_budget_intents`` or more intents (load-time
    budget): small folders get ``linear_epochs`` passes, 15,000 examples about 1.3. An update costs more the
    more intents there are, so folders with fewer intents get proportionally more updates, at most
    ``linear_max_boost`` times as many (75 intents or fewer: 40,000). A model fitted on less than one pass
    over the examples is trusted less: its share shrinks in proportion to the fraction of a pass it saw."""
    semantic_share: float = 0.7
    """Share of the meaning model (``bot.core.matching_semantic``) in the model probability when the index
    is built with an embedder; the lexical mix above gets the rest. 0 turns it off (and skips its fit)."""
    semantic_languages: tuple[str, ...] = ("de", "en")
    """Languages whose examples train the meaning model and whose messages use it (the multilingual sentence
    encoder covers both; other languages' examples are skipped at load and their messages matched
    lexically)."""
    semantic_gated: bool = False
    """Whether the meaning model's part is damped like vote and lexical model when no example is lexically
    similar (``relative_gate``). Off: a paraphrase that shares no words can still win on meaning."""
    semantic_temperature: float = 1.0
    semantic_scale: float = 10.0
    """Sentence vectors are unit length; scaled so that the regression's weights start in a useful range."""
    semantic_rate: float = 0.01
    semantic_l2: float = 1e-5
    semantic_batches_per_pass: int = 50
    semantic_min_batch: int = 32
    semantic_max_batch: int = 128
    """Mini-batch size: a pass over the examples in about 50 batches, between 32 and 128 examples each.
    Small batches fit few examples best (BANKING77 10-shot); on thousands of examples they made the fit
    noisy (BANKING77-OOS, 5,300 examples: 85.9% with 32, 87.9% with 128)."""
    semantic_max_epochs: int = 20
    semantic_prototype: float = 30.0
    """The fit starts from the nearest-centroid classifier (weights = each intent's mean vector, logits 30 x
    cosine) instead of zero, and small folders get at most ``semantic_max_epochs`` passes from there: with
    10 examples an intent, a regression fitted to the end forgets what the centroids knew (BANKING77 10-shot,
    mean of 3 seeds: 77.96 from zero with 100 passes, 78.54 from the centroids with 20)."""
    semantic_word_scale: float = 0.0
    """With a value > 0 the meaning model also reads the message's words (its TF-IDF vector, times this):
    one regression over [words | sentence vector] weighs both jointly. Off by default: at 1.5 it lifted
    MASSIVE German by 0.5, CLINC150 and BANKING77 10-shot by 0.1-0.2 and the realistic dev set by one
    message, but turned "keins davon" after a miss into an outage answer (50.4) and changed the scripted
    conversations' near misses (sixth pass, docs/benchmarks.md)."""
    semantic_max_words: int = 20_000
    """Word features of the meaning model (the most frequent of those in two or more examples): memory is
    three times features x intents floats during the fit (20,000 x 227 intents: 54 MB)."""
    semantic_min_epochs: int = 3
    semantic_max_updates: int = 60_000
    """Load-time budget of the meaning model's fit, in example updates (15,000 examples: 4 passes)."""
    linear_budget_intents: int = 150
    linear_max_boost: float = 2.0
    linear_max_features: int = 60_000
    vote_k: int = 10
    """How many of the message's most similar examples (any intent) take part in the vote."""
    vote_weight: float = 0.15
    """Weight of an intent's similarity-weighted share of those examples (a kNN vote)."""
    relative_full_similarity: float = 0.6
    relative_gate: float = 2.0
    """Vote and model are shares among the folder's intents, so in a small folder even an unrelated message
    gets ~100% for some intent. They count fully only when the best example is at least
    ``relative_full_similarity`` similar, below that times ``(similarity / relative_full_similarity) **
    relative_gate``."""
    """Exponent ``g``: the model term is ``probability * similarity ** g``. With ``g > 0`` the model can
    reorder plausible intents but not lift one no example resembles; 0 (off) measured better overall."""
    retrieval_max_share: float = 0.05
    retrieval_min_df: int = 200
    """Features in more than ``max(retrieval_min_df, retrieval_max_share * examples)`` examples are not used
    to find the nearest examples, only to score them: a speed knob that changes which examples are found,
    never how a found example is scored."""
    near_copy_power: float = 3.0
    """An intent scores at least ``100 * similarity ** near_copy_power`` of its best example, so a message
    that is (nearly) one of the examples scores near 100 even where the intent's other examples differ
    (0 turns this off)."""
    cross_language_factor: float = 0.9
    """Examples in another language than the message still count, discounted by this factor."""
    out_of_scope_tag: str = "out_of_scope"
    """Intents with this tag describe what the folder does *not* cover (look-alikes such as "do you also
    sell car insurance?"). They are matched like any intent but never returned: when one of them is the best
    candidate, the result is marked ``out_of_scope`` and the policy does not answer."""
    out_of_scope_min_score: float = 35.0
    out_of_scope_margin: float = 10.0
    """An out-of-scope intent marks the message only when it scores at least ``out_of_scope_min_score`` and
    leads the best answerable intent by ``out_of_scope_margin``: a long in-scope message scores low
    everywhere, and a catch-all of unrelated topics must not win it by a hair (realistic dev set: 7 in-scope
    messages lost that way, all below 35 or within 10 points)."""
    none_meaning: float = 0.0
    """"None of these" from the meaning model: when the best candidate's nearest example in meaning has a
    cosine below this and its best example's lexical similarity is below ``none_similarity``, the result is
    marked ``out_of_scope`` (0 turns this off)."""
    none_similarity: float = 0.0


DEFAULT_CONFIG = MatcherConfig()


@dataclass(frozen=True, slots=True)
class _Entry:
    intent: int
    """Index into ``IntentIndex.intent_ids``."""
    language: Lang
    text: str
    """The editor's original spelling."""
    normalized: str


@dataclass(frozen=True, slots=True)
class _Vectors:
    """Feature vectors of many texts, flat (CSR): text ``i`` owns positions ``starts[i]:starts[i + 1]``."""

    ids: IntArray
    tfidf: FloatArray
    tf: FloatArray
    starts: npt.NDArray[np.int64]

    def row_of_position(self) -> IntArray:
        """For every stored position, the text (row) it belongs to."""
        return np.repeat(np.arange(len(self.starts) - 1, dtype=np.int32), np.diff(self.starts))


class _Vectorizer:
    """Sparse features over a fixed vocabulary, as (feature ids, weights) with unit L2 norm."""

    def __init__(self, config: MatcherConfig) -> None:
        self.config = config
        self.vocabulary: dict[str, int] = {}
        self.idf: FloatArray = np.zeros(0, dtype=np.float32)
        self.df: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def features(self, normalized: str) -> dict[str, int]:
        """Raw feature counts: words (``w``), word pairs (``b``) and letter pieces of each word."""
        words = normalized.split()
        terms = [stem(word) for word in words] if self.config.stem_words else words
        items = ["w " + term for term in terms]
        prefix = self.config.prefix_length
        if prefix:
            items += ["p " + word[:prefix] for word in words if len(word) > prefix]
        for word in words:
            padded = f" {word} "
            for n in self.config.ngram_sizes:
                items += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        if self.config.word_pairs:
            items += [f"b {first} {second}" for first, second in pairwise(terms)]
        return Counter(items)

    def fit_transform(self, texts: Sequence[str]) -> _Vectors:
        """Learn vocabulary and IDF from normalised ``texts`` and return their vectors (see :meth:`transform`).

        Feature strings are turned into ids as they are met, so the many short strings of a large folder
        never live all at once (the index of 15,000 examples would otherwise hold millions of them); the
        arithmetic then runs once over all examples' features.
        """
        vocabulary: defaultdict[str, int] = defaultdict(count().__next__)
        # C arrays, not lists: a list would keep one Python int object per feature occurrence alive.
        ids_flat = array("i")
        tf_flat = array("i")
        lengths: list[int] = []
        for text in texts:
            counts = self.features(text)
            ids_flat.extend([vocabulary[key] for key in counts])
            tf_flat.extend(counts.values())
            lengths.append(len(counts))
        all_ids = np.frombuffer(ids_flat, dtype=np.intc).astype(np.int32)
        raw_tf = np.frombuffer(tf_flat, dtype=np.intc).astype(np.float32)
        tf = np.where(raw_tf > 1.0, 1.0 + np.log(np.maximum(raw_tf, 1.0)), raw_tf).astype(np.float32)
        self.vocabulary = dict(vocabulary)
        n = len(texts)
        self.df = np.bincount(all_ids, minlength=len(self.vocabulary))
        self.idf = (np.log((1.0 + n) / (1.0 + self.df)) + 1.0).astype(np.float32)
        starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
        if not n:
            return _Vectors(all_ids, tf, tf, starts)
        repeat = np.array(lengths)
        tfidf = tf * self.idf[all_ids]
        tfidf /= np.repeat(np.sqrt(np.add.reduceat(tfidf * tfidf, starts[:-1])), repeat)
        tf /= np.repeat(np.sqrt(np.add.reduceat(tf * tf, starts[:-1])), repeat)
        return _Vectors(all_ids, tfidf, tf, starts)

    def transform(self, counts: dict[str, int]) -> tuple[IntArray, FloatArray, FloatArray]:
        """Known feature ids with their TF-IDF weights and their plain TF weights (each L2-normalised)."""
        ids: list[int] = []
        tfs: list[float] = []
        vocabulary = self.vocabulary
        for key, tf in counts.items():
            index = vocabulary.get(key)
            if index is not None:
                ids.append(index)
                tfs.append(1.0 + math.log(tf) if tf > 1.0 else tf)
        id_array = np.array(ids, dtype=np.int32)
        tf_array = np.array(tfs, dtype=np.float32)
        return id_array, _unit(tf_array * self.idf[id_array]), _unit(tf_array)


def _unit(weights: FloatArray) -> FloatArray:
    norm = float(np.linalg.norm(weights))
    return weights / norm if norm > 0 else weights


class _InvertedIndex:
    """Rows (examples or intents) by feature, so a query touches only the rows that share a feature."""

    def __init__(
        self, row_ids: IntArray, feature_ids: IntArray, weights: FloatArray, n_rows: int, n_features: int
    ) -> None:
        self.size = n_rows
        order = np.argsort(feature_ids, kind="stable")
        self.rows = row_ids[order].astype(np.int32)
        self.weights = weights[order].astype(np.float32)
        counts = np.bincount(feature_ids, minlength=n_features)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[IntArray, FloatArray]], n_features: int) -> _InvertedIndex:
        lengths = np.array([len(ids) for ids, _ in rows], dtype=np.int64)
        return cls(
            np.repeat(np.arange(len(rows), dtype=np.int32), lengths),
            np.concatenate([ids for ids, _ in rows] + [np.zeros(0, dtype=np.int32)]),
            np.concatenate([w for _, w in rows] + [np.zeros(0, dtype=np.float32)]),
            len(rows),
            n_features,
        )

    def dot(self, ids: IntArray, weights: FloatArray) -> FloatArray:
        """Dot product of the query with every row (cosine when both sides are unit vectors)."""
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
        return np.bincount(self.rows[positions], weights=contribution, minlength=self.size).astype(np.float32)


class _IntentModel:
    """Multinomial naive Bayes over the examples' features, stored sparsely.

    ``log P(f | intent) = log(count + a) - log(total + a * V)`` splits into a per-intent constant and
    ``log(1 + count / a)``, which is non-zero only for features the intent's examples contain; so the model
    costs memory in proportion to the examples, not to intents x vocabulary.
    """

    def __init__(
        self,
        vectors: _Vectors,
        intent_bounds: npt.NDArray[np.int64],
        n_features: int,
        alpha: float,
    ) -> None:
        """``intent_bounds[i]:intent_bounds[i + 1]`` are intent ``i``'s rows in ``vectors``."""
        n_intents = len(intent_bounds) - 1
        self.n_intents = n_intents
        pair_intent: list[IntArray] = []
        pair_feature: list[IntArray] = []
        pair_count: list[npt.NDArray[np.float64]] = []
        positions = vectors.starts[intent_bounds]
        for intent in range(n_intents):
            ids = vectors.ids[positions[intent] : positions[intent + 1]]
            unique, inverse = np.unique(ids, return_inverse=True)
            tf = vectors.tf[positions[intent] : positions[intent + 1]].astype(np.float64)
            pair_feature.append(unique.astype(np.int32))
            pair_count.append(
                np.bincount(inverse.ravel(), weights=tf, minlength=len(unique)).astype(np.float64)
            )
            pair_intent.append(np.full(len(unique), intent, dtype=np.int32))
        counts = np.concatenate([*pair_count, np.zeros(0)])
        intents = np.concatenate([*pair_intent, np.zeros(0, dtype=np.int32)])
        totals = np.bincount(intents, weights=counts, minlength=n_intents)
        self.constant = (math.log(alpha) - np.log(totals + alpha * max(1, n_features))).astype(np.float32)
        self.index = _InvertedIndex(
            intents,
            np.concatenate([*pair_feature, np.zeros(0, dtype=np.int32)]),
            np.log1p(counts / alpha).astype(np.float32),
            n_intents,
            n_features,
        )

    def probabilities(self, ids: IntArray, weights: FloatArray, temperature: float) -> FloatArray:
        """P(intent | message) for every intent (uniform when the message has no known feature)."""
        if self.n_intents == 0:
            return np.zeros(0, dtype=np.float32)
        if len(ids) == 0:
            return np.full(self.n_intents, 1.0 / self.n_intents, dtype=np.float32)
        log_likelihood = float(weights.sum()) * self.constant + self.index.dot(ids, weights)
        z = temperature * (log_likelihood - log_likelihood.max())
        p: FloatArray = np.exp(z).astype(np.float32)
        p /= p.sum()
        return p


@dataclass(frozen=True, slots=True)
class _Evidence:
    """Why an intent got its score: the parts of :meth:`IntentIndex._rank`'s weighted sum."""

    intent: int
    score: float
    entry: int
    """The best example (index into ``entries``)."""
    similarity: float
    cosine: float
    fuzzy: float
    support: float
    vote: float
    model: float
    """The model's probability for the intent: the mix of the two below."""
    bayes: float
    """Naive Bayes probability."""
    linear: float
    """Linear model probability (0 when the linear model is off)."""
    meaning: float
    """Meaning model probability (0 when the index has no embedder)."""
    meant_similarity: float
    """Cosine of the message's sentence vector with the intent's nearest example in meaning (0 without)."""
    meant_entry: int
    """That example (index into ``entries``; -1 without a meaning model)."""
    gate: float
    """Factor on vote and model (1 when the best example is similar enough)."""
    combined: float
    """The weighted sum; ``score`` is the larger of it and the near-copy floor."""


class IntentIndex:
    """The enabled intents' examples, prepared once per content load; :meth:`match` is read-only."""

    def __init__(
        self,
        intent_ids: Sequence[str],
        entries: Sequence[_Entry],
        not_entries: Sequence[_Entry],
        settings: Settings,
        config: MatcherConfig = DEFAULT_CONFIG,
        embedder: Embedder | None = None,
        out_of_scope: Iterable[int] = (),
    ) -> None:
        """``out_of_scope``: positions (in ``intent_ids``) of the intents that describe what the folder does
        not cover (see ``MatcherConfig.out_of_scope_tag``)."""
        self.intent_ids: tuple[str, ...] = tuple(intent_ids)
        self._out_of_scope = frozenset(out_of_scope)
        self.settings = settings
        self.config = config
        # Entries sorted by intent: each intent's examples are one contiguous slice.
        self.entries: tuple[_Entry, ...] = tuple(sorted(entries, key=lambda e: e.intent))
        self.not_entries: tuple[_Entry, ...] = tuple(not_entries)
        n_intents = len(self.intent_ids)
        self._vectorizer = _Vectorizer(config)
        vectors = self._vectorizer.fit_transform([e.normalized for e in self.entries])
        n_features = len(self._vectorizer.vocabulary)
        # Retrieval skips features that occur in very many examples: they cost the most and decide the least.
        # Their share of the cosine is added back exactly for the examples that are re-scored.
        cutoff = max(config.retrieval_min_df, int(config.retrieval_max_share * len(self.entries)))
        keep = self._vectorizer.df[vectors.ids] <= cutoff
        self._examples = _InvertedIndex(
            vectors.row_of_position()[keep],
            vectors.ids[keep],
            vectors.tfidf[keep],
            len(self.entries),
            n_features,
        )
        self._row_starts = vectors.starts
        self._row_ids = vectors.ids
        self._row_weights = vectors.tfidf
        self._n_features = n_features
        entry_intent = np.array([e.intent for e in self.entries], dtype=np.int32)
        self._entry_intent = entry_intent
        self._intent_bounds = np.searchsorted(entry_intent, np.arange(n_intents + 1)).astype(np.int64)
        self._model = _IntentModel(vectors, self._intent_bounds, n_features, config.model_smoothing)
        self._linear: LinearIntentModel | None = (
            LinearIntentModel(
                vectors.ids,
                vectors.tfidf,
                vectors.starts,
                entry_intent,
                n_intents,
                self._vectorizer.df,
                max_epochs=config.linear_epochs,
                max_updates=int(
                    config.linear_max_updates
                    * min(config.linear_max_boost, max(1.0, config.linear_budget_intents / max(1, n_intents)))
                ),
                rate=config.linear_rate,
                max_features=config.linear_max_features,
            )
            if config.linear_share > 0
            else None
        )
        self._linear_share = (
            config.linear_share * min(1.0, self._linear.updates / max(1, len(self.entries)))
            if self._linear is not None
            else 0.0
        )
        self.embedder = embedder if config.semantic_share > 0 else None
        self._semantic: SemanticIntentModel | None = None
        # Two vocabularies: the lexical evidence sees normalised text, the meaning model the text as written.
        self._spelling: SpellingRepair | None = (
            SpellingRepair(e.normalized for e in self.entries) if config.spelling_repair else None
        )
        self._meaning_spelling: SpellingRepair | None = None
        meaningful = [i for i, e in enumerate(self.entries) if e.language in config.semantic_languages]
        self._meaning_entries = np.array(meaningful, dtype=np.int64)
        self._meaning_vectors: FloatArray = np.zeros((0, 0), dtype=np.float32)
        self._meaning_bounds = np.zeros(n_intents + 1, dtype=np.int64)
        if self.embedder is not None and meaningful:
            self._meaning_vectors = self.embedder.embed([self.entries[i].text for i in meaningful])
            self._meaning_bounds = np.searchsorted(entry_intent[meaningful], np.arange(n_intents + 1)).astype(
                np.int64
            )
            words = None
            if config.semantic_word_scale > 0:
                sub = np.array(meaningful, dtype=np.int64)
                lengths = vectors.starts[sub + 1] - vectors.starts[sub]
                positions = np.concatenate(
                    [np.arange(vectors.starts[i], vectors.starts[i + 1]) for i in sub]
                    or [np.zeros(0, np.int64)]
                )
                words = WordFeatures(
                    vectors.ids[positions],
                    vectors.tfidf[positions],
                    np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                    self._vectorizer.df,
                    config.semantic_max_words,
                )
            self._semantic = SemanticIntentModel(
                self._meaning_vectors,
                entry_intent[meaningful],
                n_intents,
                scale=config.semantic_scale,
                rate=config.semantic_rate,
                l2=config.semantic_l2,
                batch=min(
                    config.semantic_max_batch,
                    max(config.semantic_min_batch, len(meaningful) // config.semantic_batches_per_pass),
                ),
                max_epochs=config.semantic_max_epochs,
                min_epochs=config.semantic_min_epochs,
                max_updates=config.semantic_max_updates,
                prototype=config.semantic_prototype,
                words=words,
                word_scale=config.semantic_word_scale,
            )
            if config.spelling_repair:
                self._meaning_spelling = SpellingRepair(self.entries[i].text for i in meaningful)
        self._not_examples = _InvertedIndex.from_rows(
            [
                self._vectorizer.transform(self._vectorizer.features(e.normalized))[:2]
                for e in self.not_entries
            ],
            n_features,
        )
        self._not_by_intent: dict[int, list[int]] = {}
        for position, entry in enumerate(self.not_entries):
            self._not_by_intent.setdefault(entry.intent, []).append(position)
        languages = sorted({e.language for e in self.entries})
        self.languages: tuple[Lang, ...] = tuple(languages)
        self._entry_language = np.array([languages.index(e.language) for e in self.entries], dtype=np.int32)
        self._examples_per_language: dict[tuple[int, Lang], int] = {}
        for entry in self.entries:
            key = (entry.intent, entry.language)
            self._examples_per_language[key] = self._examples_per_language.get(key, 0) + 1

    @classmethod
    def build(
        cls,
        intents: Sequence[Intent],
        settings: Settings,
        config: MatcherConfig = DEFAULT_CONFIG,
        embedder: Embedder | None = None,
    ) -> IntentIndex:
        """Index the enabled intents' examples and not_examples (normalised once, duplicates dropped).

        With an ``embedder`` (``bot.content.embeddings.default_embedder()``) the index also fits the meaning
        model; without one it is purely lexical."""
        intent_ids: list[str] = []
        entries: list[_Entry] = []
        not_entries: list[_Entry] = []
        out_of_scope: list[int] = []
        for intent in intents:
            if not intent.enabled:
                continue
            position = len(intent_ids)
            intent_ids.append(intent.id)
            entries.extend(_entries(position, intent.examples.items()))
            not_entries.extend(_entries(position, intent.not_examples.items()))
            if config.out_of_scope_tag in intent.tags:
                out_of_scope.append(position)
        return cls(intent_ids, entries, not_entries, settings, config, embedder, out_of_scope)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def description(self) -> str:
        """Which evidence this index uses, for banners and logs ("lexical" or "lexical + meaning (...)")."""
        if self._semantic is None or self.embedder is None:
            return "lexical"
        return f"lexical + meaning ({self.embedder.name}; {', '.join(self.config.semantic_languages)})"

    # --- scoring ------------------------------------------------------------------------------------

    def _similarity(self, query: str, entry: _Entry, cosine: float, factor: float) -> tuple[float, float]:
        """(similarity 0-1, rapidfuzz score 0-100) of the query and one example or not_example."""
        fuzzy = float(fuzz.token_sort_ratio(query, entry.normalized))
        w = self.config.cosine_weight
        return (w * cosine + (1.0 - w) * fuzzy / 100.0) * factor, fuzzy

    def _meaning_share(self, language: Lang | None) -> float:
        """Share of the meaning model for a message in ``language``: 0 without one, and for languages its
        vectors were not measured to help (unknown languages get it)."""
        if self._semantic is None or self.embedder is None:
            return 0.0
        applies = language is None or language in self.config.semantic_languages
        return self.config.semantic_share if applies else 0.0

    def _language_factors(self, language: Lang | None) -> FloatArray | None:
        """Per-example discount for examples in another language than ``language`` (``None``: no discount)."""
        if language is None or language not in self.languages or len(self.languages) < 2:
            return None
        factors = np.ones(len(self.entries), dtype=np.float32)
        factors[self._entry_language != self.languages.index(language)] = self.config.cross_language_factor
        return factors

    def _exact_cosine(self, entries: npt.NDArray[np.int64], ids: IntArray, weights: FloatArray) -> FloatArray:
        """Cosine of the query with the given examples over all features (retrieval skips the common ones)."""
        if len(entries) == 0:
            return np.zeros(0, dtype=np.float32)
        dense = np.zeros(self._n_features, dtype=np.float32)
        dense[ids] = weights
        starts, ends = self._row_starts[entries], self._row_starts[entries + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + offsets
        products = dense[self._row_ids[positions]] * self._row_weights[positions]
        rows = np.repeat(np.arange(len(entries)), lengths)
        return np.bincount(rows, weights=products, minlength=len(entries)).astype(np.float32)

    def wants_vectors(self, language: Lang | None) -> bool:
        """Whether :meth:`match` reads a sentence vector for a message in ``language``."""
        return (
            bool(self._meaning_share(language)) and self._semantic is not None and self.embedder is not None
        )

    def message_vectors(self, texts: Sequence[str], language: Lang | None) -> list[FloatArray | None]:
        """The sentence vectors :meth:`match` would compute for each of ``texts``, in one encoder call.

        A message of several questions is matched whole and part by part; one call for all of them costs
        about as much as one call for the whole message (the encoder streams its weights once per call:
        two short texts 2.2 ms together, 3.1 ms apart). Texts that are the same after the spelling repair
        are embedded once. ``None`` for every text when the meaning model does not apply to ``language``.
        """
        if not texts or not self.wants_vectors(language) or self.embedder is None:
            return [None] * len(texts)
        repaired = [self._meaning_spelling.repair(t) if self._meaning_spelling else t for t in texts]
        unique = list(dict.fromkeys(repaired))
        vectors = embed_messages(self.embedder, unique)
        row = {text: position for position, text in enumerate(unique)}
        return [vectors[row[text]] for text in repaired]

    def _rank(
        self, text: str, language: Lang | None, limit: int, vector: FloatArray | None = None
    ) -> tuple[list[_Evidence], list[int], tuple[str, str], FloatArray | None]:
        """Evidence for the best ``limit`` intents (best first), the intents blocked by not_examples, why the
        message looks out of scope ("" when it does not) with the out-of-scope intent it is nearest to (""
        when that is not the reason), and its sentence vector (None when the meaning model did not run).
        ``vector``: the message's vector from :meth:`message_vectors`, if computed already."""
        query = normalize(text)
        if not query or not self.entries:
            return [], [], ("", ""), None
        config = self.config
        if self._spelling is not None:
            query = self._spelling.repair(query)
        ids, tfidf, tf = self._vectorizer.transform(self._vectorizer.features(query))
        factors = self._language_factors(language)
        approximate = self._examples.dot(ids, tfidf)
        ranked = approximate if factors is None else approximate * factors
        k = min(config.rerank, len(ranked))
        nearest = np.argpartition(-ranked, k - 1)[:k] if k < len(ranked) else np.arange(len(ranked))
        nearest = nearest[approximate[nearest] > 0.0]
        bayes = self._model.probabilities(ids, tf, config.model_temperature)
        if self._linear is not None:
            linear = self._linear.probabilities(ids, tfidf, config.linear_temperature)
            probabilities = (1.0 - self._linear_share) * bayes + self._linear_share * linear
        else:
            linear = np.zeros_like(bayes)
            probabilities = bayes
        share = self._meaning_share(language)
        if share and self._semantic is not None and self.embedder is not None:
            if vector is None:
                vector = self.message_vectors([text], language)[0]
            assert vector is not None
            meaning = self._semantic.probabilities(vector, config.semantic_temperature, ids, tfidf)
            probabilities = (1.0 - share) * probabilities + share * meaning
        else:
            vector = None
            meaning = np.zeros_like(bayes)
        # Candidates: intents with a near example, and the model's favourites (which may have none).
        n_model = min(len(probabilities), limit + 3)
        favourites = np.argpartition(-probabilities, n_model - 1)[:n_model].tolist() if n_model else []
        near_intents = set(self._entry_intent[nearest].tolist())
        # A favourite without a near example is explained by its example closest on the retrieval features.
        extra = {
            intent: int(self._intent_bounds[intent])
            + int(np.argmax(ranked[self._intent_bounds[intent] : end]))
            for intent in favourites
            if intent not in near_intents
            and (end := self._intent_bounds[intent + 1]) > self._intent_bounds[intent]
        }
        pool = np.concatenate([nearest, np.array(list(extra.values()), dtype=nearest.dtype)]).astype(np.int64)
        cosine = dict(zip(pool.tolist(), self._exact_cosine(pool, ids, tfidf).tolist(), strict=True))

        def scored(entry_index: int) -> tuple[float, int, float]:
            factor = 1.0 if factors is None else float(factors[entry_index])
            similarity, fuzzy = self._similarity(
                query, self.entries[entry_index], cosine[entry_index], factor
            )
            return similarity, entry_index, fuzzy

        per_intent: dict[int, list[tuple[float, int, float]]] = {}
        for entry_index in nearest.tolist():
            per_intent.setdefault(self.entries[entry_index].intent, []).append(scored(entry_index))
        for intent, entry_index in extra.items():
            per_intent[intent] = [scored(entry_index)]
        # The vote: each intent's similarity-weighted share of the message's nearest examples.
        votes: dict[int, float] = {}
        nearest_scored = sorted((item for items in per_intent.values() for item in items), reverse=True)
        top = nearest_scored[: config.vote_k]
        total = sum(similarity for similarity, _, _ in top) or 1.0
        for similarity, entry_index, _ in top:
            intent = self.entries[entry_index].intent
            votes[intent] = votes.get(intent, 0.0) + similarity / total
        evidence: list[_Evidence] = []
        for intent, items in per_intent.items():
            items.sort(reverse=True)
            # Averaged over as many examples as the intent has in the best example's language, so that a
            # bilingual intent is not penalised for the examples written for the other language.
            available = self._examples_per_language.get((intent, self.entries[items[0][1]].language), 1)
            n_support = max(1, min(config.support, available))
            support = sum(s for s, _, _ in items[:n_support]) / n_support
            best_similarity, best_entry, fuzzy = items[0]
            probability = float(probabilities[intent])
            vote = votes.get(intent, 0.0)
            gate = min(1.0, best_similarity / config.relative_full_similarity) ** config.relative_gate
            # The meaning part of the model probability is not damped by the gate (unless configured):
            # it is the evidence that does not need shared words.
            meant = share * float(meaning[intent])
            combined = 100.0 * (
                config.example_weight * best_similarity
                + config.support_weight * support
                + gate * (config.vote_weight * vote + config.model_weight * (probability - meant))
                + (gate if config.semantic_gated else 1.0) * config.model_weight * meant
            )
            near_copy = 100.0 * best_similarity**config.near_copy_power if config.near_copy_power > 0 else 0.0
            score = max(combined, near_copy)
            evidence.append(
                _Evidence(
                    intent=intent,
                    score=min(100.0, max(0.0, score)),
                    entry=best_entry,
                    similarity=best_similarity,
                    cosine=cosine[best_entry],
                    fuzzy=fuzzy,
                    support=support,
                    vote=vote,
                    model=probability,
                    bayes=float(bayes[intent]),
                    linear=float(linear[intent]),
                    meaning=float(meaning[intent]),
                    meant_similarity=0.0,
                    meant_entry=-1,
                    gate=gate,
                    combined=combined,
                )
            )
        evidence.sort(key=lambda e: (-e.score, e.intent))
        blocked = self._blocked(query, ids, tfidf, evidence, language)
        kept = [e for e in evidence if e.intent not in blocked]
        reason = outside = ""
        answerable = [e for e in kept if e.intent not in self._out_of_scope]
        if kept and kept[0].intent in self._out_of_scope:
            leader, inside = kept[0], answerable[0].score if answerable else 0.0
            if (
                leader.score >= config.out_of_scope_min_score
                and leader.score - inside >= config.out_of_scope_margin
            ):
                outside = self.intent_ids[leader.intent]
                reason = (
                    f"nearest to {outside!r} ({config.out_of_scope_tag}, "
                    f"{leader.score:.1f}, {leader.score - inside:.1f} ahead)"
                )
        # The nearest example in meaning explains a candidate; only the ones returned need it.
        kept = [
            replace(e, meant_similarity=similarity, meant_entry=entry)
            for e in answerable[: max(0, limit)]
            for similarity, entry in [self._nearest_in_meaning(e.intent, vector)]
        ]
        if (
            not reason
            and kept
            and vector is not None
            and kept[0].meant_similarity < config.none_meaning
            and kept[0].similarity < config.none_similarity
        ):
            reason = (
                f"no example near in meaning (cosine {100 * kept[0].meant_similarity:.0f} < "
                f"{100 * config.none_meaning:g}) nor in wording ({100 * kept[0].similarity:.0f} < "
                f"{100 * config.none_similarity:g})"
            )
        return kept[: max(0, limit)], sorted(blocked), (reason, outside), vector

    def _nearest_in_meaning(self, intent: int, vector: FloatArray | None) -> tuple[float, int]:
        """(cosine, entry) of the intent's example nearest to the message's sentence vector ((0, -1) without)."""
        if vector is None:
            return 0.0, -1
        start, end = int(self._meaning_bounds[intent]), int(self._meaning_bounds[intent + 1])
        if end <= start:
            return 0.0, -1
        cosines = self._meaning_vectors[start:end] @ vector
        best = int(np.argmax(cosines))
        return float(cosines[best]), int(self._meaning_entries[start + best])

    def _blocked(
        self,
        query: str,
        ids: IntArray,
        tfidf: FloatArray,
        evidence: Sequence[_Evidence],
        language: Lang | None,
    ) -> set[int]:
        """Intents whose not_examples are more similar to the query than their best example."""
        if not self._not_by_intent:
            return set()
        cosine = self._not_examples.dot(ids, tfidf)
        blocked: set[int] = set()
        for item in evidence:
            for position in self._not_by_intent.get(item.intent, ()):
                entry = self.not_entries[position]
                factor = 1.0
                if language is not None and entry.language != language and language in self.languages:
                    factor = self.config.cross_language_factor
                similarity, _ = self._similarity(query, entry, float(cosine[position]), factor)
                if similarity > item.similarity:
                    blocked.add(item.intent)
                    break
        return blocked

    def match(
        self,
        text: str,
        language: Lang | None = None,
        limit: int = 5,
        vector: FloatArray | None = None,
    ) -> MatchResult:
        """Ranked candidates for ``text``, best first, at most one per intent and ``limit`` in all.

        ``language`` prefers that language's examples (others count, discounted by
        ``cross_language_factor``); ``None`` treats every language alike. ``vector``: the message's
        sentence vector from :meth:`message_vectors` (computed here when it is needed and not given).
        """
        evidence, blocked, (out_of_scope, nearest), vector = self._rank(text, language, limit, vector)
        candidates = tuple(
            Candidate(
                intent_id=self.intent_ids[e.intent],
                score=round(e.score, 1),
                example=self.entries[e.entry].text,
                language=self.entries[e.entry].language,
            )
            for e in evidence
        )
        return MatchResult(
            candidates=candidates,
            language=language,
            blocked=tuple(self.intent_ids[i] for i in blocked),
            out_of_scope=out_of_scope,
            out_of_scope_intent=nearest,
            vector=vector,
            vector_model=self.embedder.name if vector is not None and self.embedder is not None else "",
        )

    def explain(self, text: str, language: Lang | None = None, limit: int = 3) -> str:
        """A human-readable account of :meth:`match`: top candidates, their examples and score parts."""
        c = self.config
        lines = [
            f"message {text!r} -> normalised {normalize(text)!r}" + (f" [{language}]" if language else "")
        ]
        repairs = self._spelling.repairs(normalize(text)) if self._spelling is not None else []
        if repairs:
            lines.append(
                "  spelling repaired to the examples' words: "
                + ", ".join(f"{written!r} -> {repaired!r}" for written, repaired in repairs)
            )
        evidence, blocked, (out_of_scope, _), _ = self._rank(text, language, limit)
        if not evidence:
            lines.append("  no candidate: the message shares no word or letter sequence with any example")
        for place, e in enumerate(evidence, start=1):
            entry = self.entries[e.entry]
            discount = ""
            if self._language_factors(language) is not None and entry.language != language:
                discount = f"; other language than the message, x {c.cross_language_factor:g}"
            floor = (
                f" (near-copy floor: example {100 * e.similarity:.0f} ^ {c.near_copy_power:g}; "
                f"weighted sum {e.combined:.1f})"
                if e.score > e.combined + 0.05
                else ""
            )
            share = self._meaning_share(language)
            lexical = (e.model - share * e.meaning) / (1.0 - share) if share < 1.0 else 0.0
            relative = (
                f"{c.vote_weight:g} x vote {100 * e.vote:.0f}% "
                f"+ {c.model_weight * (1.0 - share):.3g} x lexical model {100 * lexical:.0f}%"
            )
            if self._linear is not None:
                linear = self._linear_share
                relative += f" ({100 - 100 * linear:.0f}% naive Bayes {100 * e.bayes:.0f}%, {100 * linear:.0f}% linear {100 * e.linear:.0f}%)"
            meaning = f"{c.model_weight * share:.3g} x meaning {100 * e.meaning:.0f}%" if share else ""
            if meaning and c.semantic_gated:
                relative, meaning = f"{relative} + {meaning}", ""
            if e.gate < 0.995:
                relative = (
                    f"{e.gate:.2f} x ({relative}) [best example below {100 * c.relative_full_similarity:g}]"
                )
            if meaning:
                relative += f" + {meaning}"
            meant = ""
            if e.meant_entry >= 0:
                meant = (
                    f"\n     nearest in meaning {self.entries[e.meant_entry].text!r}: "
                    f"cosine {100 * e.meant_similarity:.0f}"
                )
            lines.append(
                f"  {place}. {self.intent_ids[e.intent]}: {e.score:.1f}{floor}\n"
                f"     = {c.example_weight:g} x example {100 * e.similarity:.0f} "
                f"+ {c.support_weight:g} x support {100 * e.support:.0f} + {relative}\n"
                f"     best example {entry.text!r} ({entry.language}): "
                f"cosine {100 * e.cosine:.0f}, rapidfuzz {e.fuzzy:.0f}{discount}{meant}"
            )
        if len(evidence) >= 2:
            lines.append(
                f"  margin to runner-up: {evidence[0].score - evidence[1].score:.1f} "
                f"({evidence[0].score:.1f} - {evidence[1].score:.1f}, {self.intent_ids[evidence[1].intent]})"
            )
        elif evidence:
            lines.append("  runner-up: none (margin = the whole score)")
        if out_of_scope:
            lines.append(f"  out of scope: {out_of_scope}; the bot does not answer")
        for intent in blocked:
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
