"""Text normalisation shared by matching, language detection and tone analysis.

Customers write "Kündigung", "kuendigung", "KÜNDIGUNG" or "Kundigüng!!!" and expect the same answer, so every
comparison in the core runs on one canonical form:

* Unicode NFKC (full-width letters, ligatures and compatibility characters become plain letters),
* ``casefold`` (which also turns ``ß`` into ``ss``),
* German umlauts are spelled out: ``ä -> ae``, ``ö -> oe``, ``ü -> ue``. The transliterated spelling a
  customer types on a keyboard without umlauts ("kuendigung") is already in that form, so both spellings
  meet without touching ``ue``/``ae``/``oe`` in other words ("queue", "true" stay as they are),
* other accents are stripped (``é -> e``, ``ñ -> n``), because customers drop them freely,
* apostrophes are deleted so that "don't" and "dont" are one word, every other run of punctuation, symbols,
  emoji and whitespace becomes one space. Emoji carry tone, not intent: the tone analyser reads the raw text,
  the matcher never sees them.

The result is bounded: matching a 10,000-character paste costs no more than matching :data:`MAX_CHARS`
characters, because the intent of a message is in its beginning and fuzzy scorers are quadratic in length.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 400
"""Longest normalised text handed to the matcher; longer messages are cut at a word boundary."""

_RAW_LIMIT = MAX_CHARS * 4
"""Raw characters read at most: generous for text that shrinks (emoji, punctuation) but still bounded."""

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss", "æ": "ae", "œ": "oe", "ø": "o"})
_APOSTROPHES = re.compile(r"['’`´ʼ]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def _strip_accents(text: str) -> str:
    """Remove combining marks left after decomposition (é -> e); pure ASCII skips the work."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """The canonical matching form of ``text``: lower-case ASCII words separated by single spaces.

    Letters outside Latin script (Cyrillic, Greek, CJK...) are dropped by the final ASCII filter; the
    editors' languages are Latin-script, and a message with no Latin letters then normalises to ``""``,
    which the matcher treats as "no evidence" instead of matching noise.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[:_RAW_LIMIT]).casefold().translate(_FOLD)
    text = _APOSTROPHES.sub("", _strip_accents(text))
    text = _NON_WORD.sub(" ", text).strip()
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS + 1)
        text = text[: cut if cut > 0 else MAX_CHARS]
    return text


def tokens(text: str) -> list[str]:
    """The words of ``normalize(text)``."""
    return normalize(text).split()
