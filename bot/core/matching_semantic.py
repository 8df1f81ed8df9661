"""A meaning model beside the lexical ones: softmax regression over sentence vectors, fitted at load time.

The lexical evidence (letter pieces, words, rapidfuzz) only sees shared spelling, so "my card hasn't shown
up" and "where is the card I ordered" look unrelated. A sentence encoder trained on large corpora places
such phrasings near each other, across languages (the default install's Universal Sentence Encoder
multilingual v3, pure numpy, about 2 ms a message), supplied by an :class:`Embedder` that the content layer
loads from a package (``bot.content.embeddings``). The core never reads files: it receives the embedder as a
pure function.

Mean vectors alone are a weak classifier; a multinomial logistic regression fitted on the examples' vectors
learns which directions tell *this folder's* intents apart (BANKING77 with 10 examples per intent: nearest
example 73.5 %, this model 78.6 %, both alone, with the earlier static word vectors; numbers in
``docs/benchmarks.md#matching``). The fit is mini-batch Adam with a budget of example updates, so 15,000
examples cost about 0.2 s; it is deterministic (fixed seed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the fit's small matrix products on one BLAS thread.

    OpenBLAS splits every product over all cores; for matrices this small the threads mostly wait for each
    other, and on a busy 2-core machine the fit took 9.6 s instead of 0.2 s (``docs/benchmarks.md``).
    ``threadpoolctl`` is a default dependency; without it the fit runs as numpy is configured.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a default dependency
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


class Embedder(Protocol):
    """Turns texts into sentence vectors: one unit-length float32 row per text (zeros for an empty text)."""

    @property
    def name(self) -> str:
        """What the vectors are, for ``intents explain`` and logs (e.g. ``use-multilingual-v3 (...)``)."""
        ...

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


def embed_messages(embedder: Embedder, texts: Sequence[str]) -> FloatArray:
    """Vectors of customer messages, in one call to the encoder.

    An embedder with a cache (``bot.content.embeddings.CachedEmbedder``) stores what it embeds in batches,
    which is right for a folder's examples and wrong for messages (the cache would grow with every
    customer, and write to disk on every turn): such an embedder offers ``embed_messages``, which looks
    vectors up but never stores them, and is used when present.
    """
    method = getattr(embedder, "embed_messages", None)
    vectors: FloatArray = method(texts) if method is not None else embedder.embed(texts)
    return vectors


def _centroids(vectors: FloatArray, labels: IntArray, n_intents: int) -> FloatArray:
    """Unit-length mean vector of each intent's examples, one column per intent."""
    sums = np.zeros((vectors.shape[1], n_intents), dtype=np.float32)
    np.add.at(sums.T, labels, vectors)
    norms = np.linalg.norm(sums, axis=0, keepdims=True)
    np.divide(sums, norms, out=sums, where=norms > 0)
    return sums


class WordFeatures:
    """The examples' TF-IDF rows (CSR, as the lexical index keeps them) for the meaning model's word part.

    Only features in at least two examples get a weight, at most ``max_features`` of them (the most
    frequent): a feature of one example teaches nothing about new messages, and the cap bounds memory
    (features x intents, with the fit's two moment estimates three times that)."""

    def __init__(
        self,
        ids: IntArray,
        weights: FloatArray,
        starts: npt.NDArray[np.int64],
        df: npt.NDArray[np.int64],
        max_features: int,
    ) -> None:
        candidates = np.flatnonzero(df >= 2)
        if len(candidates) > max_features:
            candidates = candidates[np.argsort(-df[candidates], kind="stable")[:max_features]]
        self.column = np.full(len(df), -1, dtype=np.int32)
        self.column[candidates] = np.arange(len(candidates), dtype=np.int32)
        self.size = len(candidates)
        mapped = self.column[ids]
        keep = mapped >= 0
        rows = np.repeat(np.arange(len(starts) - 1), np.diff(starts))[keep]
        self.ids = mapped[keep]
        self.weights = weights[keep].astype(np.float32)
        self.starts = np.searchsorted(rows, np.arange(len(starts))).astype(np.int64)

    def rows(self, rows: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray, FloatArray]:
        """(row within ``rows``, column, weight) of every kept feature of the given examples."""
        begins, ends = self.starts[rows], self.starts[rows + 1]
        lengths = ends - begins
        offsets = np.repeat(begins - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + offsets
        owner = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
        return owner, self.ids[positions], self.weights[positions]


class SemanticIntentModel:
    """``P(intent | message) = softmax(temperature * (scale * v . W_intent + words . U_intent + b_intent))``
    over the sentence vector ``v`` and, with ``words``, the message's TF-IDF vector.

    With words, one regression weighs the two kinds of evidence *jointly*: where the sentence vectors of two
    intents are close, the words that tell them apart get the weight, and where the wording differs but the
    meaning is the same, the vector does. Measured (``docs/benchmarks.md``, sixth pass): small gains on
    MASSIVE German and BANKING77 10-shot, so it is a ``MatcherConfig`` option (``semantic_word_scale``),
    off by default.
    """

    def __init__(
        self,
        vectors: FloatArray,
        labels: IntArray,
        n_intents: int,
        *,
        scale: float,
        rate: float,
        l2: float,
        batch: int,
        max_epochs: int,
        min_epochs: int,
        max_updates: int,
        prototype: float = 0.0,
        seed: int = 0,
        words: WordFeatures | None = None,
        word_scale: float = 3.0,
    ) -> None:
        """Fit on the examples' vectors (rows of ``vectors``, intent ``labels[i]``).

        Small folders get ``max_epochs`` passes; large ones as many as ``max_updates`` example updates
        allow, but at least ``min_epochs``. With ``prototype`` > 0 the fit starts from the nearest-centroid
        classifier, whose scores are ``prototype`` x the cosine with each intent's mean vector.
        """
        self.n_intents = n_intents
        self.scale = scale
        n, dimensions = vectors.shape
        self.weights = np.zeros((dimensions, n_intents), dtype=np.float32)
        self.bias = np.zeros(n_intents, dtype=np.float32)
        self.words = words if words is not None and words.size > 0 and word_scale > 0 else None
        self.word_scale = word_scale
        self.word_weights = np.zeros((self.words.size if self.words else 0, n_intents), dtype=np.float32)
        self.epochs = 0
        if n > 0 and n_intents >= 2:
            if prototype > 0:
                self.weights = _centroids(vectors, labels, n_intents) * np.float32(prototype / scale)
            self.epochs = max(min_epochs, min(max_epochs, max_updates // n))
            with _one_blas_thread():
                self._fit(np.multiply(vectors, scale, dtype=np.float32), labels, rate, l2, batch, seed)

    def _fit(
        self, x_all: FloatArray, labels: IntArray, rate: float, l2: float, batch: int, seed: int
    ) -> None:
        """Mini-batch Adam on the cross-entropy; plain SGD needs many more passes for the same fit."""
        weights, bias, words, word_weights = self.weights, self.bias, self.words, self.word_weights
        n = len(x_all)
        rng = np.random.default_rng(seed)
        m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
        m_b, v_b = np.zeros_like(bias), np.zeros_like(bias)
        m_u, v_u = np.zeros_like(word_weights), np.zeros_like(word_weights)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        step = 0
        for _ in range(self.epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                x = x_all[rows]
                g = x @ weights + bias
                if words is not None:
                    # The batch's word features as a small dense block over the columns it uses: the
                    # gradient then touches only those rows of the word weights ("lazy" Adam).
                    owner, columns, values = words.rows(rows)
                    used, where = np.unique(columns, return_inverse=True)
                    block = np.zeros((len(rows), len(used)), dtype=np.float32)
                    block[owner, where.ravel()] = values * np.float32(
                        self.word_scale
                    )  # a row has each feature once
                    g += block @ word_weights[used]
                g -= g.max(axis=1, keepdims=True)
                np.exp(g, out=g)
                g /= g.sum(axis=1, keepdims=True)
                g[np.arange(len(rows)), labels[rows]] -= 1.0
                g /= len(rows)
                grad_w = x.T @ g + l2 * weights
                grad_b = g.sum(axis=0)
                step += 1
                correction1, correction2 = 1.0 - beta1**step, 1.0 - beta2**step
                m_w = beta1 * m_w + (1.0 - beta1) * grad_w
                v_w = beta2 * v_w + (1.0 - beta2) * grad_w * grad_w
                m_b = beta1 * m_b + (1.0 - beta1) * grad_b
                v_b = beta2 * v_b + (1.0 - beta2) * grad_b * grad_b
                weights -= rate * (m_w / correction1) / (np.sqrt(v_w / correction2) + eps)
                bias -= rate * (m_b / correction1) / (np.sqrt(v_b / correction2) + eps)
                if words is not None and len(used):
                    grad_u = block.T @ g + l2 * word_weights[used]
                    m_u[used] = beta1 * m_u[used] + (1.0 - beta1) * grad_u
                    v_u[used] = beta2 * v_u[used] + (1.0 - beta2) * grad_u * grad_u
                    word_weights[used] -= (
                        rate * (m_u[used] / correction1) / (np.sqrt(v_u[used] / correction2) + eps)
                    )

    def probabilities(
        self,
        vector: FloatArray,
        temperature: float,
        word_ids: IntArray | None = None,
        word_weights: FloatArray | None = None,
    ) -> FloatArray:
        """P(intent | message) for every intent (from the biases alone for a zero vector and no words).

        ``word_ids``/``word_weights``: the message's TF-IDF vector over the lexical index's vocabulary."""
        if self.n_intents == 0:
            return np.zeros(0, dtype=np.float32)
        scores = (self.scale * vector) @ self.weights + self.bias
        if self.words is not None and word_ids is not None and word_weights is not None and len(word_ids):
            columns = self.words.column[word_ids]
            known = columns >= 0
            scores += (word_weights[known] * np.float32(self.word_scale)) @ self.word_weights[columns[known]]
        z = temperature * (scores - scores.max())
        p: FloatArray = np.exp(z).astype(np.float32)
        p /= p.sum()
        return p
