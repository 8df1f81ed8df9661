"""Helpers shared by the benchmark scripts: reading JSONL data sets, writing them as an intents folder,
loading that folder through the product's own loader, timing.

The benchmarks deliberately go through the editors' path (YAML files -> ``load_folder`` -> ``IntentIndex``)
rather than feeding texts to the matcher directly, so that a number in ``docs/benchmarks.md`` is what a
folder with the same examples gets in production.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.language import detect_language
from bot.core.matcher import IntentIndex
from bot.core.model import Content
from bot.core.normalize import normalize

OOS_LABEL = "oos"
"""The out-of-scope label: never an intent, a row the bot should not answer."""

DATASETS = Path(
    os.environ.get("CAREBOT_DATASETS") or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)
"""Where the public evaluation data live on the reference machine (``../shared/datasets``;
``CAREBOT_DATASETS`` overrides it, e.g. for a git worktree one level deeper)."""


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    label: str


def read_jsonl(path: str | Path) -> list[Row]:
    """``{"text", "label"}`` rows; blank lines and rows without text are skipped, extra fields ignored."""
    rows: list[Row] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text, label = str(record["text"]), str(record["label"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{path}:{number}: not a JSON object with 'text' and 'label' ({exc})"
                ) from exc
            if text.strip():
                rows.append(Row(text, label))
    return rows


def intent_ids(labels: Iterable[str]) -> dict[str, str]:
    """A valid, unique intent id (``[a-z0-9_]+``) for every label, e.g. ``weather/find -> weather_find``."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for label in sorted(set(labels)):
        base = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_") or "intent"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate)
        mapping[label] = candidate
    return mapping


def guess_language(rows: Sequence[Row], supported: Sequence[str] = ("en", "de"), sample: int = 300) -> str:
    """The majority language of (a sample of) the rows, by the product's own detector."""
    votes = Counter(detect_language(row.text, supported) for row in rows[:sample])
    return votes.most_common(1)[0][0] if votes else supported[0]


def write_intents_folder(
    folder: Path, examples: Mapping[str, Sequence[str]], language: str, ids: Mapping[str, str]
) -> Path:
    """Write one intents file in the editors' format (``docs/intents-format``) plus the settings."""
    folder.mkdir(parents=True, exist_ok=True)
    intents = []
    for label, texts in examples.items():
        unique = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
        intents.append(
            {
                "id": ids[label],
                "title": {language: label},
                "examples": {language: unique},
                "answers": {language: [f"Answer for {ids[label]}"]},
            }
        )
    settings = {"settings": {"languages": [language]}}
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    (folder / "intents.yaml").write_text(
        yaml.safe_dump({"intents": intents}, allow_unicode=True, sort_keys=False, width=1000),
        encoding="utf-8",
    )
    return folder


def load_index(folder: Path, semantic: bool = True) -> tuple[Content, IntentIndex, float]:
    """Load the folder with the product loader and build the matcher as the bot does (with the meaning
    model, unless ``semantic`` is false); returns the seconds all took, including the first load of the
    sentence encoder in this process and embedding the examples not yet in the vector cache."""
    from bot.content.embeddings import default_embedder
    from bot.content.loader import load_folder

    started = time.perf_counter()
    content = load_folder(folder).content
    embedder = default_embedder() if semantic else None
    index = IntentIndex.build(content.intents, content.settings, embedder=embedder)
    return content, index, time.perf_counter() - started


def group_by_label(rows: Iterable[Row]) -> dict[str, list[str]]:
    """Texts per in-scope label, in first-seen label order (``oos`` rows are dropped)."""
    grouped: dict[str, list[str]] = {}
    for row in rows:
        if row.label != OOS_LABEL:
            grouped.setdefault(row.label, []).append(row.text)
    return grouped


def sample_shots(grouped: Mapping[str, Sequence[str]], shots: int | None, seed: int) -> dict[str, list[str]]:
    """All examples, or ``shots`` per label drawn with ``seed`` (deterministic for a given input)."""
    if not shots:
        return {label: list(texts) for label, texts in grouped.items()}
    rng = random.Random(seed)
    return {
        label: rng.sample(list(texts), min(shots, len(texts))) for label, texts in sorted(grouped.items())
    }


def drop_shared(examples: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], int]:
    """Examples without sentences that several labels share (after normalisation), and how many were dropped.

    The loader rejects a folder in which one sentence is an example of two intents ("one sentence cannot mean
    two things"), and public data sets have such rows (MASSIVE: "was ist los" is both social_query and
    recommendation_events; BANKING77: "has my top-up gone through?" is pending_top_up and top_up_reverted).
    Such a sentence stays only with the label that has it most often (ties: the label listed first), as an
    editor would resolve it.
    """
    votes: dict[str, Counter[str]] = {}
    for label, texts in examples.items():
        for text in texts:
            key = normalize(text)
            if key:
                votes.setdefault(key, Counter())[label] += 1
    order = {label: i for i, label in enumerate(examples)}
    owner = {
        key: min(counter.items(), key=lambda item: (-item[1], order[item[0]]))[0]
        for key, counter in votes.items()
    }
    kept: dict[str, list[str]] = {}
    dropped = 0
    for label, texts in examples.items():
        kept[label] = []
        for text in texts:
            key = normalize(text)
            if key and owner[key] != label:
                dropped += 1
            else:
                kept[label].append(text)
    return kept, dropped


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one slip of the finger: a letter dropped, doubled or swapped with its neighbour (first and
    last letter kept; words under 4 letters unchanged)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def with_typos(text: str, count: int, rng: random.Random) -> str:
    """``text`` with a typo in ``count`` different words of 4 or more letters (fewer if it has fewer)."""
    words = text.split(" ")
    eligible = [j for j, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for j in rng.sample(eligible, min(count, len(eligible))):
        words[j] = typo(words[j], rng)
    return " ".join(words)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[rank]
