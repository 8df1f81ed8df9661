"""A crude, language-agnostic suffix stripper for the matcher's word features.

Editors write "Rechnungen", customers "Rechnung"; examples say "charged", messages "charges". The letter
pieces already share most of such words, but whole-word features and word pairs did not. The matcher
therefore takes its word and word-pair features on stems: the longest of a few common English and German
inflection suffixes is cut off when at least three letters remain ("charged" -> "charg", "charges" ->
"charg", "rechnungen" -> "rechn", "rechnung" -> "rechn"). It is deliberately crude -- one list for both
languages, no exceptions -- because both sides of every comparison are cut the same way; letter pieces and
rapidfuzz still see the word as written. Measured in ``docs/benchmarks.md#matching``.
"""

from __future__ import annotations

from functools import lru_cache

SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            # English inflection
            "ing", "ed", "es", "s", "ly", "ment", "ments", "ies", "ied", "er", "ers", "est",
            # German inflection and the frequent noun suffix -ung(en)
            "en", "e", "n", "ung", "ungen", "st", "t", "te", "ten", "tes", "em", "ern",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
"""Cut longest first; the order among equally long suffixes does not matter (a word ends in at most one)."""

MIN_STEM = 3


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """``word`` without its longest listed suffix, if at least :data:`MIN_STEM` letters remain."""
    for suffix in SUFFIXES:
        if len(word) - len(suffix) >= MIN_STEM and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
