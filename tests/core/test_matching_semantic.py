"""The meaning model in the core: fitted on whatever vectors an embedder gives, explained, language-bound.

The embedder here is a tiny word-to-concept table, so each test knows which texts mean the same; the real
word vectors are tested in ``tests/content/test_embeddings.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from bot.core.matcher import DEFAULT_CONFIG, IntentIndex
from bot.core.matching_semantic import SemanticIntentModel, WordFeatures
from bot.core.model import Intent, Settings

CONCEPTS = {
    "card": 0, "plastic": 0,
    "arrived": 1, "delivered": 1, "showed": 1, "waiting": 1,
    "cancel": 2, "terminate": 2, "quit": 2, "kündigen": 2,
    "contract": 3, "subscription": 3, "membership": 3, "vertrag": 3,
}  # fmt: skip


class ConceptEmbedder:
    """Mean of one-hot concept vectors of the known words (lower-cased), unit length."""

    name = "test concepts"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                if word in CONCEPTS:
                    out[row, CONCEPTS[word]] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def _intent(intent_id: str, en: list[str], de: list[str] | None = None) -> Intent:
    examples = {"en": tuple(en)} | ({"de": tuple(de)} if de else {})
    return Intent(
        id=intent_id,
        title={"en": intent_id},
        examples=examples,  # type: ignore[arg-type]
        answers={"en": ("-",)},
    )


INTENTS = [
    _intent("card_arrival", ["my card has not arrived", "when will my card be delivered"]),
    _intent(
        "cancel_contract",
        ["cancel my contract", "terminate the subscription"],
        ["Vertrag kündigen", "ich will kündigen"],
    ),
    _intent("greeting", ["hello there", "good morning"]),
]
SETTINGS = Settings(languages=("de", "en"))


def test_a_paraphrase_without_shared_words_wins_on_meaning() -> None:
    lexical = IntentIndex.build(INTENTS, SETTINGS)
    meaning = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    text = "still waiting for the plastic"
    with_meaning = meaning.match(text, "en").best
    assert with_meaning is not None and with_meaning.intent_id == "card_arrival"
    without = lexical.match(text, "en").best
    assert without is None or without.score < with_meaning.score - 10


def test_explain_shows_the_meaning_part_and_the_lexical_mix() -> None:
    index = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    text = index.explain("quit my membership", "en")
    assert "1. cancel_contract" in text
    assert "x meaning" in text and "lexical model" in text and "naive Bayes" in text


def test_meaning_applies_only_to_its_languages() -> None:
    """German and English go through the meaning model by default; a language outside
    ``semantic_languages`` is matched lexically, and identically so."""
    lexical = IntentIndex.build(INTENTS, SETTINGS)
    meaning = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    assert "x meaning" in meaning.explain("quit my membership", "en")
    assert "x meaning" in meaning.explain("Vertrag kuendigen bitte", "de")
    english_only = replace(DEFAULT_CONFIG, semantic_languages=("en",))
    only = IntentIndex.build(INTENTS, SETTINGS, english_only, embedder=ConceptEmbedder())
    for text in ("Vertrag kuendigen bitte", "Wann kommt meine Karte?"):
        assert only.match(text, "de") == lexical.match(text, "de")
        assert "x meaning" not in only.explain(text, "de")


def test_explain_names_the_nearest_example_in_meaning_and_the_runner_up() -> None:
    index = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    text = index.explain("quit my membership", "en")
    assert "nearest in meaning 'cancel my contract'" in text or "nearest in meaning 'terminate" in text
    assert "margin to runner-up:" in text


def test_out_of_scope_intents_are_never_returned_and_mark_the_result() -> None:
    look_alike = Intent(
        id="other_insurance",
        title={"en": "other insurance"},
        examples={"en": ("do you also sell car insurance", "I need travel insurance")},
        answers={"en": ("-",)},
        tags=("out_of_scope",),
    )
    index = IntentIndex.build([*INTENTS, look_alike], SETTINGS, embedder=ConceptEmbedder())
    result = index.match("do you sell car insurance", "en")
    assert result.out_of_scope and "other_insurance" in result.out_of_scope
    assert all(c.intent_id != "other_insurance" for c in result.candidates)
    assert "out of scope" in index.explain("do you sell car insurance", "en")
    assert not index.match("cancel my contract", "en").out_of_scope


def test_none_of_these_from_the_meaning_model() -> None:
    strict = replace(DEFAULT_CONFIG, none_meaning=0.5, none_similarity=0.6)
    index = IntentIndex.build(INTENTS, SETTINGS, strict, embedder=ConceptEmbedder())
    # Means none of the concepts and shares little wording: nothing near in meaning or wording.
    assert index.match("my hamster has a cold", "en").out_of_scope.startswith("no example near")
    assert not index.match("still waiting for the plastic", "en").out_of_scope
    off = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    assert not off.match("my hamster has a cold", "en").out_of_scope


def test_share_zero_switches_the_meaning_model_off() -> None:
    off = IntentIndex.build(INTENTS, SETTINGS, replace(DEFAULT_CONFIG, semantic_share=0.0), ConceptEmbedder())
    assert off.embedder is None
    assert off.match("still waiting for the plastic", "en") == IntentIndex.build(INTENTS, SETTINGS).match(
        "still waiting for the plastic", "en"
    )


def _clusters(
    intents: int, per_intent: int, dimensions: int, noise: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Unit vectors scattered around one random centre per intent (seeded), and their labels."""
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((intents, dimensions)).astype(np.float32)
    labels = np.repeat(np.arange(intents, dtype=np.int32), per_intent)
    vectors = centres[labels] + noise * rng.standard_normal((len(labels), dimensions)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, labels


def test_fit_learns_the_labels_within_its_budget_and_is_deterministic() -> None:
    vectors, labels = _clusters(intents=5, per_intent=40, dimensions=16, noise=0.3)
    knobs = dict(scale=10.0, rate=0.01, l2=1e-5, batch=32, max_epochs=100, min_epochs=3)
    small = SemanticIntentModel(vectors, labels, 5, max_updates=100_000, **knobs)  # type: ignore[arg-type]
    assert small.epochs == 100
    capped = SemanticIntentModel(vectors, labels, 5, max_updates=1_000, **knobs)  # type: ignore[arg-type]
    assert capped.epochs == 5
    floor = SemanticIntentModel(vectors, labels, 5, max_updates=10, **knobs)  # type: ignore[arg-type]
    assert floor.epochs == 3
    predicted = [int(np.argmax(small.probabilities(v, 1.0))) for v in vectors]
    assert np.mean(np.array(predicted) == labels) > 0.95
    again = SemanticIntentModel(vectors, labels, 5, max_updates=100_000, **knobs)  # type: ignore[arg-type]
    assert np.array_equal(again.weights, small.weights)
    probabilities = small.probabilities(np.zeros(16, dtype=np.float32), 1.0)
    assert probabilities.shape == (5,) and abs(float(probabilities.sum()) - 1.0) < 1e-5


def test_one_intent_or_no_examples_fit_nothing() -> None:
    vectors = np.ones((3, 4), dtype=np.float32) / 2
    single = SemanticIntentModel(
        vectors, np.zeros(3, dtype=np.int32), 1,
        scale=10.0, rate=0.01, l2=0.0, batch=32, max_epochs=10, min_epochs=1, max_updates=100,
    )  # fmt: skip
    assert single.epochs == 0
    assert single.probabilities(vectors[0], 1.0).tolist() == [1.0]


def _meaning_percent(explanation: str, intent_id: str) -> int:
    block = explanation.split(f". {intent_id}:", 1)[1]
    return int(re.search(r"x meaning (\d+)%", block).group(1))  # type: ignore[union-attr]


def test_the_meaning_model_reads_the_repaired_spelling() -> None:
    """The concept table knows "terminate" and "subscription", not their typos: only the repair lets it see them."""
    repaired = IntentIndex.build(INTENTS, SETTINGS, embedder=ConceptEmbedder())
    as_written = IntentIndex.build(
        INTENTS, SETTINGS, replace(DEFAULT_CONFIG, spelling_repair=False), ConceptEmbedder()
    )
    text = "termnate the subscripton"
    assert "'termnate' -> 'terminate'" in repaired.explain(text, "en")
    assert _meaning_percent(repaired.explain(text, "en"), "cancel_contract") > 80
    assert _meaning_percent(as_written.explain(text, "en"), "cancel_contract") < 50


def test_the_fit_starts_from_the_intents_centroids() -> None:
    """Before any pass the model is the nearest-centroid classifier (``prototype``); from zero it knows nothing."""
    vectors, labels = _clusters(intents=4, per_intent=5, dimensions=8, noise=0.5)
    knobs = dict(scale=10.0, rate=0.01, l2=0.0, batch=32, max_epochs=0, min_epochs=0, max_updates=0)
    start = SemanticIntentModel(vectors, labels, 4, prototype=30.0, **knobs)  # type: ignore[arg-type]
    blank = SemanticIntentModel(vectors, labels, 4, **knobs)  # type: ignore[arg-type]
    assert start.epochs == blank.epochs == 0
    centroids = np.stack([vectors[labels == k].mean(axis=0) for k in range(4)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    query = vectors[7]
    expected = 30.0 * centroids @ query
    logits = np.log(start.probabilities(query, 1.0))
    assert np.allclose(logits - logits.max(), expected - expected.max(), atol=1e-3)
    assert np.allclose(blank.probabilities(query, 1.0), 0.25)


class _CountingConcepts(ConceptEmbedder):
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        return super().embed(texts)


def test_a_message_and_its_parts_are_embedded_in_one_call() -> None:
    embedder = _CountingConcepts()
    index = IntentIndex.build(INTENTS, SETTINGS, embedder=embedder)
    embedder.calls.clear()
    texts = ["still waiting for the plastic. how do i quit", "still waiting for the plastic", "how do i quit"]
    vectors = index.message_vectors([*texts, texts[1]], "en")
    assert embedder.calls == [texts]  # one call, the repeated part once
    assert vectors[3] is not None and np.array_equal(vectors[1], vectors[3])
    for text, vector in zip(texts, vectors, strict=False):
        assert index.match(text, "en", vector=vector) == index.match(text, "en")
    assert index.message_vectors(texts, "fr") == [None, None, None]  # not a language of the meaning model


def test_with_words_the_meaning_model_separates_intents_whose_vectors_are_the_same() -> None:
    # Two intents, every example with the same sentence vector: only the words can tell them apart.
    vectors = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (4, 1))
    labels = np.array([0, 0, 1, 1], dtype=np.int32)
    # Word feature 0 ("rechnung") in intent 0's examples, feature 1 ("vertrag") in intent 1's; feature 2
    # in every example. TF-IDF rows as the lexical index keeps them (CSR).
    ids = np.array([0, 2, 0, 2, 1, 2, 1, 2], dtype=np.int32)
    weights = np.full(8, 0.7071, dtype=np.float32)
    starts = np.array([0, 2, 4, 6, 8], dtype=np.int64)
    words = WordFeatures(ids, weights, starts, df=np.array([2, 2, 4], dtype=np.int64), max_features=10)
    fit = {"scale": 10.0, "rate": 0.05, "l2": 1e-5, "batch": 2, "max_epochs": 30, "min_epochs": 3}
    blind = SemanticIntentModel(vectors, labels, 2, max_updates=1000, **fit)  # type: ignore[arg-type]
    reading = SemanticIntentModel(vectors, labels, 2, max_updates=1000, words=words, **fit)  # type: ignore[arg-type]
    message = np.array([1.0, 0.0], dtype=np.float32)
    word_ids, word_weights = np.array([1, 2], dtype=np.int32), np.full(2, 0.7071, dtype=np.float32)
    assert abs(float(blind.probabilities(message, 1.0, word_ids, word_weights)[1]) - 0.5) < 0.05
    assert float(reading.probabilities(message, 1.0, word_ids, word_weights)[1]) > 0.9
    # Without the message's words the model falls back on the vector: no preference.
    assert abs(float(reading.probabilities(message, 1.0)[1]) - 0.5) < 0.15
