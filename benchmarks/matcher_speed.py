"""Matcher latency and memory at growing index sizes, beside the naive rapidfuzz baseline in the same run.

Indexes are built from CLINC150 and BANKING77 training rows (227 intents of real customer phrasing). Sizes
above the ~25,000 real rows are reached by augmentation that keeps the phrasing realistic: typos (dropped,
doubled or swapped letters), polite prefixes and suffixes, dropped filler words. Queries are held-out
validation rows (CLINC150 validation incl. out-of-scope, BANKING77-OOS validation), never in the index.

Per message we measure the matcher's ``match`` and the baseline
``rapidfuzz.process.extractOne(query, all_examples, scorer=WRatio)`` on the same queries. The machine is
shared, so besides wall time the CPU time of the thread is reported; p50/p99 ratios use CPU time (both
sides measured the same way). Peak memory is traced with ``tracemalloc`` in a separate build-and-query
pass, because tracing slows allocation down.

Writes ``docs/matcher-latency.png``; the last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.common import DATASETS, OOS_LABEL, Row, percentile, read_jsonl, typo
from bot.content.embeddings import default_embedder
from bot.core.matcher import IntentIndex
from bot.core.matching_semantic import Embedder
from bot.core.model import Intent, Settings
from bot.core.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1_000, 10_000, 15_000, 100_000)
_PREFIXES = ("hi ", "hello, ", "please ", "can you tell me ", "i need to know ", "quick question: ", "hey ")
_SUFFIXES = (" please", " thanks", "?", " asap", " thank you", " now", "!")
_FILLERS = frozenset({"please", "the", "a", "my", "can", "you", "i", "to", "is"})


def augment(text: str, rng: random.Random) -> str:
    """A plausible rephrasing of ``text``: a typo or two, a filler dropped, a prefix or suffix."""
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        if words:
            j = rng.randrange(len(words))
            words[j] = typo(words[j], rng)
    if len(words) > 3 and rng.random() < 0.5:
        droppable = [j for j, w in enumerate(words) if w.lower() in _FILLERS]
        if droppable:
            del words[rng.choice(droppable)]
    out = " ".join(words)
    if rng.random() < 0.5:
        out = rng.choice(_PREFIXES) + out
    if rng.random() < 0.5:
        out += rng.choice(_SUFFIXES)
    return out


def synthetic_rows(size: int, seed: int, pool: Sequence[Row]) -> list[Row]:
    """``size`` example rows, distinct after normalisation: real rows first (a seeded sample), then augmented."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    unique: list[Row] = []
    for row in pool:
        key = (row.label, normalize(row.text))
        if key[1] and key not in seen:
            seen.add(key)
            unique.append(row)
    if size <= len(unique):
        return rng.sample(unique, size)
    rows = list(unique)
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 100 * size:
            raise ValueError(
                f"cannot augment {len(unique)} rows to {size} distinct ones; give a larger --pool"
            )
        source = unique[rng.randrange(len(unique))]
        text = augment(source.text, rng)
        key = (source.label, normalize(text))
        if key not in seen:
            seen.add(key)
            rows.append(Row(text, source.label))
    return rows


def build_index(rows: Sequence[Row], embedder: Embedder | None = None) -> IntentIndex:
    grouped: dict[str, list[str]] = {}
    for row in rows:
        grouped.setdefault(row.label, []).append(row.text)
    intents = [
        Intent(id=f"i{n}", title={"en": label}, examples={"en": tuple(texts)}, answers={"en": ("-",)})
        for n, (label, texts) in enumerate(sorted(grouped.items()))
    ]
    return IntentIndex.build(intents, Settings(languages=("en",)), embedder=embedder)


def measure(call: Callable[[str], object], queries: Sequence[str]) -> tuple[list[float], list[float]]:
    """Per-query (CPU ms, wall ms)."""
    cpu: list[float] = []
    wall: list[float] = []
    for query in queries:
        c0, w0 = time.thread_time(), time.perf_counter()
        call(query)
        cpu.append((time.thread_time() - c0) * 1000.0)
        wall.append((time.perf_counter() - w0) * 1000.0)
    return cpu, wall


def peak_memory_mb(rows: Sequence[Row], queries: Sequence[str], embedder: Embedder | None) -> float:
    """Peak traced allocation (MB) while building the index and matching a few queries (the sentence
    encoder's weights, about 80 MB loaded once per process, are not counted)."""
    tracemalloc.start()
    try:
        index = build_index(rows, embedder)
        for query in queries[:50]:
            index.match(query, "en")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def run_size(
    size: int,
    pool: Sequence[Row],
    queries: Sequence[str],
    baseline_queries: int,
    seed: int,
    embedder: Embedder | None = None,
) -> dict[str, float]:
    """The matcher as the bot builds it (with the meaning model when ``embedder`` is given), the purely
    lexical matcher when it is, and the naive baseline, all on the same queries in this process."""
    from rapidfuzz import fuzz, process

    rows = synthetic_rows(size, seed, pool)
    started = time.perf_counter()
    index = build_index(rows, embedder)
    build_s = time.perf_counter() - started
    for query in queries[:20]:  # warm caches and lazy imports before timing
        index.match(query, "en")
    cpu, wall = measure(lambda q: index.match(q, "en"), queries)
    choices = [r.text for r in rows]
    base_queries = queries[:baseline_queries]
    base_cpu, base_wall = measure(lambda q: process.extractOne(q, choices, scorer=fuzz.WRatio), base_queries)
    result = {
        "examples": len(index),
        "intents": len(index.intent_ids),
        "build_s": round(build_s, 3),
        "p50_ms": round(percentile(cpu, 50), 3),
        "p99_ms": round(percentile(cpu, 99), 3),
        "wall_p50_ms": round(percentile(wall, 50), 3),
        "wall_p99_ms": round(percentile(wall, 99), 3),
        "baseline_p50_ms": round(percentile(base_cpu, 50), 3),
        "baseline_p99_ms": round(percentile(base_cpu, 99), 3),
        "baseline_wall_p50_ms": round(percentile(base_wall, 50), 3),
        "baseline_queries": len(base_queries),
        "peak_mb": round(peak_memory_mb(rows, queries, embedder), 1),
    }
    if embedder is not None:
        started = time.perf_counter()
        lexical = build_index(rows)
        result["lexical_build_s"] = round(time.perf_counter() - started, 3)
        for query in queries[:20]:
            lexical.match(query, "en")
        lexical_cpu, _ = measure(lambda q: lexical.match(q, "en"), queries)
        result["lexical_p50_ms"] = round(percentile(lexical_cpu, 50), 3)
        result["lexical_p99_ms"] = round(percentile(lexical_cpu, 99), 3)
    result["speedup_p50"] = round(result["baseline_p50_ms"] / max(result["p50_ms"], 1e-6), 1)
    result["speedup_p99"] = round(result["baseline_p99_ms"] / max(result["p99_ms"], 1e-6), 1)
    return result


def plot(results: dict[int, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    series = [
        ("p50_ms", "o-", "tab:blue", "carebot matcher p50"),
        ("p99_ms", "o--", "tab:blue", "carebot matcher p99"),
        ("baseline_p50_ms", "s-", "tab:red", "extractOne WRatio p50"),
        ("baseline_p99_ms", "s--", "tab:red", "extractOne WRatio p99"),
        ("lexical_p99_ms", "^:", "tab:green", "lexical only (no meaning model) p99"),
    ]
    for key, style, colour, label in series:
        if all(key in results[s] for s in sizes):
            ax.plot(sizes, [results[s][key] for s in sizes], style, color=colour, label=label)
    ax.axhline(2.0, color="grey", lw=0.8, ls=":")
    ax.axhline(10.0, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("example phrases in the index")
    ax.set_ylabel("CPU ms per message (one core)")
    ax.set_title("Matcher latency vs naive rapidfuzz baseline (same run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def default_pool() -> list[Row]:
    rows = read_jsonl(DATASETS / "clinc150" / "train.jsonl") + [
        Row(r.text, "banking:" + r.label) for r in read_jsonl(DATASETS / "banking77" / "train.jsonl")
    ]
    return [r for r in rows if r.label != OOS_LABEL]


def default_queries() -> list[str]:
    rows = read_jsonl(DATASETS / "clinc150" / "validation.jsonl") + read_jsonl(
        DATASETS / "banking77_oos" / "validation.jsonl"
    )
    return [r.text for r in rows]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Matcher latency and memory vs the naive rapidfuzz baseline."
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--queries", type=int, default=1000, help="queries timed per size")
    parser.add_argument(
        "--baseline-queries", type=int, default=200, help="queries timed for the slow baseline"
    )
    parser.add_argument(
        "--pool",
        type=Path,
        action="append",
        help="JSONL rows to build indexes from (default: CLINC150 + BANKING77 train)",
    )
    parser.add_argument("--query-file", type=Path, action="append", help="JSONL rows used as queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "matcher-latency.png")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--no-semantic",
        action="store_true",
        help="only the lexical matcher (as without the 'semantic' extra)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    pool = (
        [r for path in args.pool for r in read_jsonl(path) if r.label != OOS_LABEL]
        if args.pool
        else default_pool()
    )
    all_queries = (
        [r.text for path in args.query_file for r in read_jsonl(path)]
        if args.query_file
        else default_queries()
    )
    queries = random.Random(args.seed).sample(all_queries, min(args.queries, len(all_queries)))
    results: dict[int, dict[str, float]] = {}
    embedder = None if args.no_semantic else default_embedder()
    print(f"matcher: lexical + {embedder.name}" if embedder else "matcher: lexical only")
    lexical_columns = f" {'lex p50':>8} {'lex p99':>8}" if embedder else ""
    print(
        f"{'examples':>9} {'build s':>8} {'p50 ms':>7} {'p99 ms':>7} {'base p50':>9} {'base p99':>9} "
        f"{'x p50':>6} {'x p99':>6} {'peak MB':>8}{lexical_columns}"
    )
    for size in args.sizes:
        r = run_size(size, pool, queries, args.baseline_queries, args.seed, embedder)
        results[size] = r
        lexical = f" {r['lexical_p50_ms']:>8.2f} {r['lexical_p99_ms']:>8.2f}" if embedder else ""
        print(
            f"{int(r['examples']):>9} {r['build_s']:>8.2f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
            f"{r['baseline_p50_ms']:>9.2f} {r['baseline_p99_ms']:>9.2f} {r['speedup_p50']:>6.1f} "
            f"{r['speedup_p99']:>6.1f} {r['peak_mb']:>8.1f}{lexical}",
            flush=True,
        )
    if not args.no_plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")
    print(f"(CPU time per message; wall-clock p50/p99 are in the JSON; {len(queries)} queries per size)")
    summary = {"queries": len(queries), "semantic": embedder.name if embedder else None}
    print(json.dumps(summary | {"sizes": {str(k): v for k, v in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
