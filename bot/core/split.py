"""Several questions in one message: cut it where a new question plausibly starts.

"Ich habe meine PIN vergessen und wie kann ich meine Bankverbindung ändern?" asks two things; matched as a
whole, the stronger one wins and the other is silently dropped. The cuts are sentence ends (. ? ! ;) and
"und / and (also) / außerdem / plus" between clauses. A piece too short to be a question on its own ("und
zwar sofort") stays with the piece before it, so an ordinary sentence with an "und" in it is not torn
apart. The policy decides what to do with the pieces; this module only cuts.
"""

from __future__ import annotations

import re

MIN_WORDS = 3
"""A piece needs this many words to stand as a question of its own."""

MAX_PARTS = 4
"""More pieces than this is a story, not a list of questions: it is matched as a whole."""

_SENTENCE = re.compile(r"((?<=[.?!;])\s+|\n+)")
_JOINER = re.compile(
    r"(,?\s+(?:und\s+(?:außerdem|ausserdem|auch|noch)|und|and\s+also|and|also|außerdem|ausserdem|plus)\s+)",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^(?:und|and|also|außerdem|ausserdem|plus)(?:\s+(?:also|auch|noch))?[,\s]+", re.IGNORECASE
)
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Cut at ``pattern``; a piece too short to stand alone is glued back with its original separator."""
    pieces = pattern.split(text)  # [piece, separator, piece, separator, piece ...]
    merged: list[str] = []
    separator = ""
    for index, piece in enumerate(pieces):
        if index % 2:
            separator = piece
            continue
        if not piece.strip():
            if merged:
                merged[-1] += separator
            continue
        if merged and (_words(piece) < MIN_WORDS or _words(merged[-1]) < MIN_WORDS):
            merged[-1] = f"{merged[-1]}{separator}{piece}"
        else:
            merged.append(piece)
    return merged


def split_questions(text: str) -> tuple[str, ...]:
    """The message's questions in order; one piece (the whole text, tidied) when it asks one thing."""
    whole = " ".join(text.split())
    pieces = [
        " ".join(clause.split())
        for sentence in _cut(text.strip(), _SENTENCE)
        for clause in _cut(sentence, _JOINER)
    ]
    pieces = [_LEADING.sub("", p) for p in pieces if p]
    if len(pieces) < 2 or len(pieces) > MAX_PARTS:
        return (whole,) if whole else ()
    return tuple(pieces)
