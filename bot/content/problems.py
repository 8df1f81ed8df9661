"""What goes wrong in an intents folder, in the words an editor can act on.

Every check in the content layer reports a :class:`Problem` instead of raising, so that one run shows an
editor all mistakes at once rather than one per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int
    where: str
    """Which part of the file, e.g. ``intents[3] invoice_copy.answers.en[0]``; empty for the whole file."""
    what: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        label = " warning:" if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{where}{label} {self.what}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File order, then line order: the order an editor walks through the files to fix them."""
    return sorted(problems, key=lambda p: (p.path, p.line, p.where, p.what))


class ContentError(Exception):
    """The folder cannot be loaded; ``problems`` holds every error (and the warnings found alongside)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sort_problems(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]
