"""Spelling repair against the folder's own words, applied to a message before it is matched.

A typo costs the lexical evidence only part of a word (letter pieces and rapidfuzz absorb the rest), but it
costs the meaning model the whole word: static vectors have no entry for "cancle" or "contrakt", the
tokenizer cuts them into pieces ("can", "cle") whose vectors point elsewhere, and one typo can move a
message to another intent. So before a message is matched, each word that no example uses is replaced by
the example word one edit away (a letter inserted, dropped, replaced, or swapped with its neighbour); if
several are, the one the examples use most. Measured in ``docs/benchmarks.md#matching``: one typo per
message cost CLINC150 3.9 points without repair and 1.6 with it, and dialect spellings in xSID get closer to
standard German ones.

Only the examples' vocabulary is a target: a correct word the examples do not use stays as written unless
an example word is one edit away from it, and words under ``min_length`` letters are never touched, as one
edit turns too many of them into other real words ("card" / "care").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import OSA

_WORD = re.compile(r"[^\W\d_]+")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class SpellingRepair:
    """The examples' words, indexed by their one-letter deletions (symmetric-delete lookup: no scan of the
    vocabulary per word, a few dictionary lookups). Read-only after construction."""

    def __init__(self, texts: Iterable[str], min_length: int = 5) -> None:
        self.min_length = min_length
        self.counts: Counter[str] = Counter(w for text in texts for w in _WORD.findall(text.lower()))
        self._by_delete: dict[str, list[str]] = {}
        for word in self.counts:
            if len(word) >= min_length - 1:
                for deleted in _deletes(word):
                    self._by_delete.setdefault(deleted, []).append(word)

    def suggestion(self, word: str) -> str | None:
        """The example word one edit from ``word`` (lower case), or ``None`` if it is known, short, or has none."""
        if len(word) < self.min_length or word in self.counts:
            return None
        keys = _deletes(word)
        candidates = {key for key in keys if key in self.counts}
        for key in (word, *keys):
            candidates.update(self._by_delete.get(key, ()))
        # Two words sharing a deletion can be two edits apart ("abxd" / "abdy"): keep only true neighbours.
        fitting = [c for c in candidates if OSA.distance(word, c, score_cutoff=1) <= 1]
        return max(fitting, key=lambda c: (self.counts[c], c)) if fitting else None

    def repairs(self, text: str) -> list[tuple[str, str]]:
        """The (written, repaired) word pairs in ``text``, for explanations."""
        return [(w, s) for w in _WORD.findall(text) if (s := self.suggestion(w.lower())) is not None]

    def repair(self, text: str) -> str:
        """``text`` with each repairable word replaced; everything else is kept as written."""

        def replace(match: re.Match[str]) -> str:
            suggestion = self.suggestion(match.group(0).lower())
            return match.group(0) if suggestion is None else suggestion

        return _WORD.sub(replace, text)
