"""A softmax-regression intent model fitted at load time, beside the naive Bayes model.

Naive Bayes counts how typical each feature is for each intent, one feature at a time. A linear model
fitted to *tell the intents apart* (multinomial logistic regression) weighs features jointly: a word that
occurs in two close intents gets weight only where it separates them. On few examples per intent it is
clearly better (BANKING77 with 10 per intent: naive Bayes alone 70.5 %, this model alone 73.9 %), on large
folders the two are about even and their mix is better than either (numbers in
``docs/benchmarks.md#matching``).

The fit must fit the load budget (15,000 examples in well under 3 s including the YAML loader), so it is
plain stochastic gradient descent over the examples' TF-IDF vectors with a hard cap on the number of example
updates: a small folder gets ``max_epochs`` passes, a large one fewer (a fraction of a pass at 100,000
examples). Weights are kept only for features that occur in at least two examples, at most
``max_features`` of them (the most frequent), so memory stays bounded. The fit is deterministic (fixed seed).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


class LinearIntentModel:
    """``P(intent | message) = softmax(temperature * (x . W_intent + b_intent))`` over the TF-IDF vector ``x``."""

    def __init__(
        self,
        row_ids: IntArray,
        row_weights: FloatArray,
        row_starts: npt.NDArray[np.int64],
        labels: IntArray,
        n_intents: int,
        df: npt.NDArray[np.int64],
        *,
        max_epochs: int,
        max_updates: int,
        rate: float,
        max_features: int,
        seed: int = 0,
    ) -> None:
        """Fit on the examples (CSR rows ``row_starts[i]:row_starts[i + 1]`` of ``row_ids``/``row_weights``)."""
        self.n_intents = n_intents
        n_features = len(df)
        candidates = np.flatnonzero(df >= 2)
        if len(candidates) > max_features:
            candidates = candidates[np.argsort(-df[candidates], kind="stable")[:max_features]]
        self.row_of_feature = np.full(n_features, -1, dtype=np.int32)
        self.row_of_feature[candidates] = np.arange(len(candidates), dtype=np.int32)
        n_weights = len(candidates)
        # One extra row holds the biases: every example has it as a feature of value 1.
        weights = np.zeros((n_weights + 1, n_intents), dtype=np.float32)
        n = len(row_starts) - 1
        self.updates = 0
        if n > 0 and n_intents >= 2 and n_weights > 0:
            mapped = self.row_of_feature[row_ids]
            keep = mapped >= 0
            bias_id = np.array([n_weights], dtype=np.int32)
            one = np.ones(1, dtype=np.float32)
            rows: list[tuple[IntArray, FloatArray, FloatArray]] = []
            for start, end in zip(row_starts[:-1].tolist(), row_starts[1:].tolist(), strict=True):
                x = np.concatenate([row_weights[start:end][keep[start:end]], one])
                rows.append((np.concatenate([mapped[start:end][keep[start:end]], bias_id]), x, x[:, None]))
            label = labels.tolist()
            total = min(max_epochs * n, max_updates)
            rng = np.random.default_rng(seed)
            epoch = 0
            while self.updates < total:
                step = rate / (1.0 + epoch)
                order = rng.permutation(n)[: total - self.updates].tolist()
                for i in order:
                    ids, x, column = rows[i]
                    # One gather and one scatter per update (the example's features are distinct); the
                    # gradient step * (softmax(scores) - onehot(label)) is computed in place.
                    block = weights[ids]
                    g = x @ block
                    g -= g.max()
                    np.exp(g, out=g)
                    g *= step / g.sum()
                    g[label[i]] -= step
                    block -= column * g
                    weights[ids] = block
                self.updates += len(order)
                epoch += 1
        self.weights = weights[:n_weights]
        self.bias = weights[n_weights]

    def probabilities(self, ids: IntArray, tfidf: FloatArray, temperature: float) -> FloatArray:
        """P(intent | message) for every intent (from the biases alone when no feature of the message has a
        weight)."""
        if self.n_intents == 0:
            return np.zeros(0, dtype=np.float32)
        rows = self.row_of_feature[ids]
        keep = rows >= 0
        scores = tfidf[keep] @ self.weights[rows[keep]] + self.bias
        z = temperature * (scores - scores.max())
        p: FloatArray = np.exp(z).astype(np.float32)
        p /= p.sum()
        return p
