"""`python -m bot chat`."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Filled in by the owner of this command."""
