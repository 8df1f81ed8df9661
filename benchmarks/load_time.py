"""How long a folder takes to load with the meaning model: cold, with a warm vector cache, and a live reload.

Three measurements, each of ``load_folder`` + ``Brain.build`` (matcher index with the sentence encoder's
vectors and the meaning model's fit, tone analyser, renderer):

* **cold**: an empty vector cache (a fresh ``CAREBOT_CACHE_DIR``), in a fresh process: every example is
  embedded, and the encoder's weights are read once;
* **warm start**: a new process whose cache already holds every example (the bot restarted);
* **reload**: the same process loads the folder again after an editor's change (the encoder is loaded, the
  cache in memory; ``--touch`` examples are changed first so that they have to be embedded).

Every measurement runs in its own subprocess so that nothing is shared by accident. The last printed line
is one JSON object. ``python -m benchmarks.load_time --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(folder: Path, touch: int) -> dict[str, float]:
    """Runs inside the subprocess: first load, then a reload with ``touch`` examples changed."""
    from bot.content.brain import Brain
    from bot.content.loader import load_folder

    started, cpu = time.perf_counter(), time.process_time()
    content = load_folder(folder).content
    brain = Brain.build(content)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    intents = list(content.intents)
    for position, intent in enumerate(intents[:touch]):
        language = next(iter(intent.examples))
        examples = dict(intent.examples)
        examples[language] = (*examples[language], f"{examples[language][0]} (neu {position})")
        intents[position] = replace(intent, examples=examples)
    started, cpu = time.perf_counter(), time.process_time()
    content = replace(load_folder(folder).content, intents=tuple(intents))
    Brain.build(content)
    reload, reload_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "first_s": round(first, 2),
        "first_cpu_s": round(first_cpu, 2),
        "reload_s": round(reload, 2),
        "reload_cpu_s": round(reload_cpu, 2),
        "examples": float(len(brain.index)),
    }


def _run(folder: Path, cache: Path, touch: int) -> dict[str, float]:
    env = dict(os.environ, CAREBOT_CACHE_DIR=str(cache))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.load_time", "--child", str(folder), "--touch", str(touch)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--intents", type=Path, default=ROOT / "intents")
    parser.add_argument("--touch", type=int, default=5, help="examples changed before the reload")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args.child, args.touch)))
        return 0
    with tempfile.TemporaryDirectory(prefix="carebot-cache-") as cache:
        cold = _run(args.intents, Path(cache), args.touch)
        warm = _run(args.intents, Path(cache), args.touch)
    print(f"folder {args.intents}: {cold['examples']:.0f} examples")
    print("wall clock / CPU time of the process (the CPU time is what an idle machine's wall clock would be)")
    print(f"cold (empty vector cache, fresh process): {cold['first_s']:.2f} s / {cold['first_cpu_s']:.2f} s")
    print(f"warm start (cache filled, fresh process): {warm['first_s']:.2f} s / {warm['first_cpu_s']:.2f} s")
    print(
        f"reload in a running bot, {args.touch} examples changed: "
        f"{warm['reload_s']:.2f} s / {warm['reload_cpu_s']:.2f} s"
    )
    summary = {
        "examples": cold["examples"],
        "cold_s": cold["first_s"],
        "cold_cpu_s": cold["first_cpu_s"],
        "warm_start_s": warm["first_s"],
        "warm_start_cpu_s": warm["first_cpu_s"],
        "reload_s": warm["reload_s"],
        "reload_cpu_s": warm["reload_cpu_s"],
        "touched": args.touch,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
