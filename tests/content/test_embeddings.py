"""The real word vectors of the ``semantic`` extra (installed with ``dev``, so CI always tests them)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.content.embeddings import SWITCH, default_embedder
from bot.core.matcher import IntentIndex
from bot.core.matching_semantic import Embedder
from bot.core.model import Intent, Settings


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = default_embedder()
    assert loaded is not None, "the semantic extra is part of the dev install: pip install -e '.[dev]'"
    return loaded


def test_vectors_are_unit_length_and_empty_text_is_zero(embedder: Embedder) -> None:
    vectors = embedder.embed(["where is my card", "", "🙂🙂", "x" * 10_000])
    assert vectors.dtype == np.float32 and vectors.shape[0] == 4
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
    assert not vectors[1].any()
    assert abs(float(np.linalg.norm(vectors[3])) - 1.0) < 1e-5  # long text: its first tokens
    assert embedder.embed([]).shape[0] == 0


def test_casing_never_matters(embedder: Embedder) -> None:
    shouted, calm, odd = embedder.embed(
        ["WHERE IS MY CARD? I ORDERED IT", "where is my card? i ordered it", "wHeRe is MY card? I ordered It"]
    )
    assert np.array_equal(shouted, calm) and np.array_equal(calm, odd)


def test_related_phrasings_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    card, paraphrase, unrelated = embedder.embed(
        [
            "my card has not arrived yet",
            "the plastic you mailed me never showed up",
            "what is the exchange rate",
        ]
    )
    assert float(card @ paraphrase) > float(card @ unrelated)


def test_environment_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("off", "0", "false", "NO"):
        monkeypatch.setenv(SWITCH, value)
        assert default_embedder() is None
    monkeypatch.setenv(SWITCH, "on")
    assert default_embedder() is not None


def _intent(intent_id: str, examples: list[str]) -> Intent:
    return Intent(
        id=intent_id, title={"en": intent_id}, examples={"en": tuple(examples)}, answers={"en": ("-",)}
    )


BANK = [
    _intent(
        "card_arrival",
        [
            "my card has not arrived yet",
            "when will my card be delivered",
            "card still not here",
            "how long does card delivery take",
        ],
    ),
    _intent(
        "exchange_rate",
        ["what is the exchange rate", "how much is a euro in dollars", "currency conversion rate"],
    ),
    _intent(
        "top_up", ["how do I top up my account", "add money to my balance", "top up with a bank transfer"]
    ),
    _intent("lost_card", ["I lost my card", "my card was stolen", "block my stolen card"]),
]
PARAPHRASES = {
    "the plastic you mailed me never showed up": "card_arrival",
    "how many yen do I get for a pound": "exchange_rate",
    "put funds into my wallet": "top_up",
    "someone took my wallet with the card in it": "lost_card",
}


def test_paraphrases_that_share_few_words_are_understood(embedder: Embedder) -> None:
    settings = Settings(languages=("en",))
    lexical = IntentIndex.build(BANK, settings)
    meaning = IntentIndex.build(BANK, settings, embedder=embedder)

    def right(index: IntentIndex) -> int:
        return sum(
            (best := index.match(text, "en").best) is not None and best.intent_id == intent
            for text, intent in PARAPHRASES.items()
        )

    # 3 of 4: in a folder this small the fit's start from the intents' centroids (which gained 0.6 points
    # on BANKING77 10-shot, docs/benchmarks.md) leaves "yen ... pound" nearer top_up than exchange_rate.
    assert right(meaning) >= 3
    assert right(lexical) <= 1  # the lexical matcher alone gets at most one of them
