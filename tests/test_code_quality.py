"""The test command also lints, checks formatting and type-checks, so CI enforces the style guide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize(
    "command",
    [
        # --no-cache: ruff's cache keys on a file's own text, so a verdict from before a module existed
        # (first- vs third-party import order) would otherwise survive locally and fail only in CI.
        ("ruff", "check", "--no-cache", "bot", "tests", "benchmarks"),
        ("ruff", "format", "--no-cache", "--check", "bot", "tests", "benchmarks"),
        ("mypy", "bot"),
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_is_clean(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


# Which layers each layer may import (besides itself and the shared value types in ``bot.messages``):
# the pure core nothing; content the core; storage the core; the service everything below it; channels
# and the CLI sit on top. A test, not a convention, so a shortcut upwards fails the suite.
ALLOWED_IMPORTS = {
    "core": {"core"},
    "content": {"core", "content"},
    "storage": {"core", "storage"},
    "service": {"core", "content", "storage", "service", "channels.base"},
}


def _bot_imports(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.removeprefix("bot.") for name in names if name.startswith("bot.")}


@pytest.mark.parametrize("layer", sorted(ALLOWED_IMPORTS))
def test_layer_imports_only_what_is_below_it(layer: str) -> None:
    allowed = ALLOWED_IMPORTS[layer] | {"messages"}
    wrong = [
        f"{path.relative_to(ROOT)} imports bot.{name}"
        for path in sorted((ROOT / "bot" / layer).rglob("*.py"))
        for name in sorted(_bot_imports(path))
        if not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    ]
    assert not wrong, "\n".join(wrong)
