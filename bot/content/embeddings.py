"""Word vectors for the matcher's meaning model, from the optional ``semantic`` extra.

``pip install -e '.[semantic]'`` installs WordLlama (MIT, no torch), whose wheel carries a 16 MB table of
static token vectors (``l2_supercat``, 256 dimensions) and its tokenizer. We read those two files directly
(``safetensors`` + ``tokenizers``) instead of calling ``WordLlama.load()``, which looks for the tokenizer in
the wrong folder and then tries to download it; the bot must never reach out to the network for a model.

Without the extra, or with ``CAREBOT_SEMANTIC=off`` in the environment, there is no embedder and the matcher
is purely lexical: same YAML, same explanations, lower accuracy on paraphrases (numbers in
``docs/benchmarks.md#matching``). The loaded table is cached per process, so reloads cost nothing extra.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.core.matching_semantic import Embedder

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

SWITCH = "CAREBOT_SEMANTIC"
"""Environment variable: ``off``/``0``/``false``/``no`` turns the meaning model off."""

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

MAX_TOKENS = 256
"""Tokens averaged per text: the matcher sees at most the first 2,000 characters anyway."""


class WordVectorEmbedder:
    """Mean of a text's static token vectors (of the lower-cased text), unit length; empty text gives zeros."""

    def __init__(self, table: FloatArray, tokenizer: object, name: str) -> None:
        self._table = table
        self._tokenizer = tokenizer
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> FloatArray:
        out = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        if not texts:
            return out
        # Canonical casing: the tokenizer is case-sensitive, and "WHERE IS MY CARD" must mean what
        # "where is my card" means.
        canonical = [_canonical_case(text) for text in texts]
        encode = getattr(self._tokenizer, "encode_batch_fast", None) or self._tokenizer.encode_batch  # type: ignore[attr-defined]
        limit = self._table.shape[0] - 1
        for row, encoding in enumerate(encode(canonical, add_special_tokens=False)):
            ids = encoding.ids[:MAX_TOKENS]
            if ids:
                # The sum, not the mean: the rows are scaled to unit length below anyway.
                self._table[np.minimum(ids, limit)].sum(axis=0, out=out[row])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


_PRONOUN_I = re.compile(r"\bi\b")


def _canonical_case(text: str) -> str:
    """One casing for every spelling of a text: lower case, then sentence case and the English "I".

    The vectors were learned on edited text, where "I" and a capital first word are the norm, so this
    form fits them better than plain lower case, and it depends only on the lower-cased text."""
    lowered = _PRONOUN_I.sub("I", text.lower().strip())
    return lowered[:1].upper() + lowered[1:]


def enabled_by_environment() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() not in {"0", "off", "false", "no"}


@functools.cache
def _load(folder: str) -> WordVectorEmbedder | None:
    try:
        from safetensors import safe_open
        from tokenizers import Tokenizer
    except ImportError:
        log.info("meaning model off: safetensors/tokenizers missing (pip install -e '.[semantic]')")
        return None
    base = Path(folder)
    weights, tokenizer_file = base / WEIGHTS, base / TOKENIZER
    if not weights.is_file() or not tokenizer_file.is_file():
        log.warning("meaning model off: %s or %s not found in the wordllama package", WEIGHTS, TOKENIZER)
        return None
    with safe_open(str(weights), framework="np") as handle:
        table = np.ascontiguousarray(handle.get_tensor("embedding.weight"), dtype=np.float32)
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return WordVectorEmbedder(table, tokenizer, f"wordllama l2_supercat {table.shape[1]}")


def default_embedder() -> Embedder | None:
    """The installed word vectors, or ``None`` (extra not installed, or switched off by the environment)."""
    if not enabled_by_environment():
        return None
    spec = importlib.util.find_spec("wordllama")  # located, not imported: its import pulls in requests
    if spec is None or not spec.submodule_search_locations:
        return None
    return _load(next(iter(spec.submodule_search_locations)))
