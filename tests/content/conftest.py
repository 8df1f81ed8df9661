"""Real folders on disk: the good fixture copied to a temporary folder, optionally with a broken overlay."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "content"
GOOD = FIXTURES / "good"
BROKEN = FIXTURES / "broken"
DEFAULTS = FIXTURES / "default_messages.yaml"

ROUTER_INTENT = """
intents:
  - id: router_reset
    title: {de: Router, en: Router}
    examples:
      de: [Router neu starten, Router reset, Router geht nicht]
      en: [restart router, router reset, router broken]
    answers:
      de: ["Ziehen Sie den Stecker für 30 Sekunden."]
      en: ["Unplug it for 30 seconds."]
"""
"""One intent file an editor adds while the bot runs (the reload tests drop it into a folder)."""

MakeFolder = Callable[..., Path]


@pytest.fixture
def make_folder(tmp_path: Path) -> MakeFolder:
    """``make_folder()`` is a copy of the good folder; ``make_folder("octal")`` adds ``broken/octal/`` as
    ``extra/``; ``files={"x.yaml": "..."}`` adds files written on the spot."""

    def make(case: str | None = None, files: dict[str, str] | None = None, base: Path | None = GOOD) -> Path:
        target = tmp_path / "intents"
        if target.exists():
            shutil.rmtree(target)
        if base is not None:
            shutil.copytree(base, target)
        else:
            target.mkdir()
        if case is not None:
            shutil.copytree(BROKEN / case, target / "extra")
        for name, text in (files or {}).items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return target

    return make
