"""An optional small linear model that adds evidence to the tone score.

Editors' phrase lists catch what editors thought of; a linear model over word and character n-grams, fitted
on permissively licensed data by ``benchmarks/fit_tone_model.py``, catches the long tail ("absolute joke",
"Saftladen"). It stays explainable: it is one line in the reasons ("model: +22") and its features are plain
strings in a JSON file that anyone can read. Only data whose licence allows shipping derived weights (CC BY)
may be used to fit it; ``docs/tone.md`` lists the sources and their attribution.

The JSON file is package data read once when an analyser is built, never over the network; without it the
analyser simply has no model line.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

MODEL_FILE = "tone_model.json"
VOCAB_FILE = "tone_vocab.json"
MIN_POINTS = 5.0
"""Smaller model contributions are dropped: a reason worth +2 explains nothing and only adds noise."""


def features(norm: str) -> list[str]:
    """Feature strings of a normalised text: words, word pairs, and character 4-grams inside padded words.

    The character grams make the model robust to typos and German compounds ("saftladen" shares
    "saft", "lade", "aden" with other insults); the word pairs catch "worst service", "seit wochen".
    """
    words = norm.split()
    out = [f"w:{w}" for w in words]
    out.extend(f"b:{a} {b}" for a, b in itertools.pairwise(words))
    for word in words:
        padded = f"<{word}>"
        if len(padded) <= 4:
            continue
        out.extend(f"c:{padded[i : i + 4]}" for i in range(len(padded) - 3))
    return out


@dataclass(frozen=True, slots=True)
class LanguageModel:
    """Logistic regression for one language: ``z = bias + sum(weights[f] * tf(f)) / sqrt(n_features)``."""

    bias: float
    weights: Mapping[str, float]
    offset: float
    """Linear score from which the model starts to add points (calibrated, not fitted)."""
    scale: float
    """Points per unit of linear score above ``offset``."""
    cap: float
    """Most points the model may add: the phrases and signals stay the main, explainable evidence."""

    def score(self, norm: str) -> float:
        feats = features(norm)
        if not feats:
            return self.bias
        total = sum(self.weights.get(f, 0.0) for f in feats)
        return self.bias + total / math.sqrt(len(feats))


@dataclass(frozen=True, slots=True)
class ToneModel:
    languages: Mapping[str, LanguageModel]

    def points(self, norm: str, language: str) -> float:
        """Evidence points this model adds to a normalised message (0 for an unknown language)."""
        model = self.languages.get(language)
        if model is None:
            return 0.0
        points = min(model.cap, model.scale * (model.score(norm) - model.offset))
        return round(points, 1) if points >= MIN_POINTS else 0.0

    def evidence(self, norm: str, language: str, n: int = 2) -> tuple[str, ...]:
        """The words (or word pairs) of the message that pushed its score up the most, for the reason line.

        A word's share is its own weight plus the weights of its character grams, so "verarsche" gets the
        credit for "<ver", "arsc", ... rather than being hidden behind fragments nobody can read.
        """
        model = self.languages.get(language)
        if model is None:
            return ()
        credit: dict[str, float] = {}
        words = norm.split()
        for word in words:
            credit[word] = sum(model.weights.get(f, 0.0) for f in features(word) if f[0] != "b")
        for pair in itertools.pairwise(words):
            credit[" ".join(pair)] = model.weights.get(f"b:{pair[0]} {pair[1]}", 0.0)
        ranked = sorted((item for item, w in credit.items() if w > 0), key=lambda item: -credit[item])
        return tuple(ranked[:n])

    def to_json(self) -> dict[str, object]:
        return {
            lang: {
                "bias": m.bias,
                "offset": m.offset,
                "scale": m.scale,
                "cap": m.cap,
                "weights": dict(sorted(m.weights.items())),
            }
            for lang, m in self.languages.items()
        }


def model_from_json(data: Mapping[str, object]) -> ToneModel:
    """Build a model from the parsed JSON (``{"de": {"bias", "offset", "scale", "cap", "weights"}, ...}``)."""
    languages: dict[str, LanguageModel] = {}
    for lang, raw in data.items():
        if lang.startswith("_") or not isinstance(raw, dict):
            continue  # "_about": provenance and licence notes
        weights = raw.get("weights", {})
        languages[lang] = LanguageModel(
            bias=float(raw["bias"]),
            weights={str(k): float(v) for k, v in weights.items()},
            offset=float(raw["offset"]),
            scale=float(raw["scale"]),
            cap=float(raw["cap"]),
        )
    return ToneModel(languages)


_DEFAULT: list[ToneModel | None] = []


def load_default_model() -> ToneModel | None:
    """The shipped model, read once per process; ``None`` when the package ships none."""
    if not _DEFAULT:
        path = resources.files("bot.core").joinpath(MODEL_FILE)
        model = model_from_json(json.loads(path.read_text("utf-8"))) if path.is_file() else None
        _DEFAULT.append(model)
    return _DEFAULT[0]


_VOCAB: list[dict[str, frozenset[str]]] = []


def load_known_words() -> Mapping[str, frozenset[str]]:
    """Shipped real words per language (``tone_vocab.json``) that must never count as a typo of a phrase."""
    if not _VOCAB:
        path = resources.files("bot.core").joinpath(VOCAB_FILE)
        raw = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        _VOCAB.append(
            {k: frozenset(v) for k, v in raw.items() if not k.startswith("_") and isinstance(v, list)}
        )
    return _VOCAB[0]
