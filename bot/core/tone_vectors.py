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

    def accepts(self, encoder_name: str) -> bool:
        return encoder_name.casefold().startswith(self.encoder.casefold())

    def points(self, vector: Sequence[float] | npt.NDArray[np.float32], language: str) -> float:
        model = self.languages.get(language)
        return 0.0 if model is None else model.points(vector)

    def to_json(self) -> dict[str, object]:
        return {
            "encoder": self.encoder,
            **{
                lang: {
                    "bias": m.bias,
                    "offset": m.offset,
                    "scale": m.scale,
                    "cap": m.cap,
                    **({"shared_cap": m.shared_cap} if m.shared_cap is not None else {}),
                    "weights": list(m.weights),
                }
                for lang, m in self.languages.items()
            },
        }


def vector_model_from_json(data: Mapping[str, object]) -> VectorToneModel:
    languages: dict[str, VectorLanguageModel] = {}
    for lang, raw in data.items():
        if lang.startswith("_") or not isinstance(raw, dict):
            continue  # "_about", "encoder"
        weights = tuple(float(w) for w in raw["weights"])
        if not all(math.isfinite(w) for w in weights):
            raise ValueError(f"{VECTOR_MODEL_FILE}: {lang} has weights that are not numbers")
        languages[lang] = VectorLanguageModel(
            bias=float(raw["bias"]),
            weights=weights,
            offset=float(raw["offset"]),
            scale=float(raw["scale"]),
            cap=float(raw["cap"]),
            shared_cap=float(raw["shared_cap"]) if raw.get("shared_cap") is not None else None,
        )
    return VectorToneModel(str(data.get("encoder", "")), languages)


_DEFAULT: list[VectorToneModel | None] = []


def load_default_vector_model() -> VectorToneModel | None:
    """The shipped vector model, read once per process; ``None`` when the package ships none."""
    if not _DEFAULT:
        path = resources.files("bot.core").joinpath(VECTOR_MODEL_FILE)
        model = vector_model_from_json(json.loads(path.read_text("utf-8"))) if path.is_file() else None
        _DEFAULT.append(model)
    return _DEFAULT[0]
