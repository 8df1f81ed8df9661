"""Optional tone evidence from sentence vectors: a logistic regression over a multilingual encoder's vectors.

The n-gram model (``tone_model.py``) knows the words it was fitted on; a sentence encoder also places
unseen insults and new topics near the ones it saw. On GermEval 2018, held out by whole topics, the encoder's
line raised the analyser's F1 on every fold, and in English it took TweetEval anger from 0.764 to 0.786
(``docs/tone.md``), so German and English vector models ship in ``tone_vector_model.json``. The core never runs the encoder: the caller passes the message's vector (the
service has it from the matcher) or an :class:`~bot.core.matching_semantic.Embedder`. Vectors of another
encoder (another name or size) are ignored rather than misread: the weights mean something only for the
encoder they were fitted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import numpy.typing as npt

VECTOR_MODEL_FILE = "tone_vector_model.json"
MIN_POINTS = 5.0
"""Smaller contributions are dropped, as for the n-gram model."""


@dataclass(frozen=True, slots=True)
class VectorLanguageModel:
    """``z = bias + weights . v``; points ``scale * (z - offset)``, at most ``cap``, dropped below 5."""

    bias: float
    weights: tuple[float, ...]
    offset: float
    scale: float
    cap: float
    shared_cap: float | None = None
    """If set, this line and the n-gram model's line together add at most this many points (English: 30, so
    that learned evidence alone never reaches the default threshold 60; German: no shared cap)."""
    _array: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_array", np.asarray(self.weights, dtype=np.float64))

    def points(self, vector: Sequence[float] | npt.NDArray[np.float32]) -> float:
        values = np.asarray(vector, dtype=np.float64)
        if values.shape != self._array.shape or not np.isfinite(values).all():
            return 0.0
        z = self.bias + float(np.dot(self._array, values))
        points = min(self.cap, self.scale * (z - self.offset))
        return round(points, 1) if points >= MIN_POINTS else 0.0


@dataclass(frozen=True, slots=True)
class VectorToneModel:
    encoder: str
    """Name prefix of the encoder the weights were fitted on (compared with ``Embedder.name``)."""
    languages: Mapping[str, VectorLanguageModel]
    negative: Mapping[str, VectorLanguageModel] = field(default_factory=dict)
    """Per language, a second, small line for *negative tone* (disappointment, sadness, annoyance: the
    GoEmotions negative group), not only anger. Airline complaints ("3 hours on the tarmac, no info") are
    negative without being furious; a few points (English: at most 8, score 20) let them count with other
    evidence while the line alone stays far below any escalation (issue #17, ``docs/tone.md``)."""

    def accepts(self, encoder_name: str) -> bool:
        return encoder_name.casefold().startswith(self.encoder.casefold())

    def points(self, vector: Sequence[float] | npt.NDArray[np.float32], language: str) -> float:
        model = self.languages.get(language)
        return 0.0 if model is None else model.points(vector)

    def negative_points(self, vector: Sequence[float] | npt.NDArray[np.float32], language: str) -> float:
        model = self.negative.get(language)
        return 0.0 if model is None else model.points(vector)

    def to_json(self) -> dict[str, object]:
        return {
            "encoder": self.encoder,
            **{lang: _line_json(m) for lang, m in self.languages.items()},
            **(
                {"negative": {lang: _line_json(m) for lang, m in self.negative.items()}}
                if self.negative
                else {}
            ),
        }


def _line_json(m: VectorLanguageModel) -> dict[str, object]:
    return {
        "bias": m.bias,
        "offset": m.offset,
        "scale": m.scale,
        "cap": m.cap,
        **({"shared_cap": m.shared_cap} if m.shared_cap is not None else {}),
        "weights": list(m.weights),
    }


def _line_from_json(lang: str, raw: Mapping[str, object]) -> VectorLanguageModel:
    values = raw["weights"]
    if not isinstance(values, list):
        raise ValueError(f"{VECTOR_MODEL_FILE}: {lang} has no list of weights")
    weights = tuple(float(w) for w in values)
    if not all(math.isfinite(w) for w in weights):
        raise ValueError(f"{VECTOR_MODEL_FILE}: {lang} has weights that are not numbers")
    shared = raw.get("shared_cap")
    return VectorLanguageModel(
        bias=_number(raw["bias"]),
        weights=weights,
        offset=_number(raw["offset"]),
        scale=_number(raw["scale"]),
        cap=_number(raw["cap"]),
        shared_cap=None if shared is None else _number(shared),
    )


def _number(value: object) -> float:
    if not isinstance(value, int | float | str):
        raise ValueError(f"{VECTOR_MODEL_FILE}: {value!r} is not a number")
    return float(value)


def vector_model_from_json(data: Mapping[str, object]) -> VectorToneModel:
    languages: dict[str, VectorLanguageModel] = {}
    for lang, raw in data.items():
        if lang.startswith("_") or lang == "negative" or not isinstance(raw, dict):
            continue  # "_about", "encoder", the negative-tone lines
        languages[lang] = _line_from_json(lang, raw)
    negative: dict[str, VectorLanguageModel] = {}
    raw_negative = data.get("negative", {})
    if isinstance(raw_negative, dict):
        for lang, raw in raw_negative.items():
            if isinstance(raw, dict):
                negative[str(lang)] = _line_from_json(f"negative {lang}", raw)
    return VectorToneModel(str(data.get("encoder", "")), languages, negative)


_DEFAULT: list[VectorToneModel | None] = []


def load_default_vector_model() -> VectorToneModel | None:
    """The shipped vector model, read once per process; ``None`` when the package ships none."""
    if not _DEFAULT:
        path = resources.files("bot.core").joinpath(VECTOR_MODEL_FILE)
        model = vector_model_from_json(json.loads(path.read_text("utf-8"))) if path.is_file() else None
        _DEFAULT.append(model)
    return _DEFAULT[0]
