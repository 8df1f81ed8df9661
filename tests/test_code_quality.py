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
