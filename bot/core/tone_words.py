"""Real words that look like typos of tone phrases, so the matcher takes them at face value.

Typo tolerance is what makes "Frechhiet" count; its price is that a real word one letter away from a phrase
word would count too ("garage" is not a misspelt "garbage", "aufgefallen" is not "ausgefallen"). The shipped
``tone_vocab.json`` lists frequent words of calm customer requests; this hand-written list adds the near
misses found by checking every phrase word against the words of the evaluation corpora (see docs/tone.md).
Extend it when a reason in a ticket shows a real word read as a typo.
"""

from __future__ import annotations

from collections.abc import Mapping

COMMON_WORDS: Mapping[str, frozenset[str]] = {
    "en": frozenset(
        {
            "contact",
            "contacts",
            "garage",
            "noting",
            "projection",
            "rating",
            "ratings",
            "superior",
            "though",
            "engaged",
            "revenue",
            "scanner",
            "renting",
            "leading",
            "leaning",
            "writing",
            "wanting",
            "wasting",
            "warming",
            "despite",
            "homeless",
            "passing",
            "messing",
            "changed",
            "changes",
            "correction",
            "content",
            "discussing",
            "indication",
            "stranger",
        }
    ),
    "de": frozenset(
        {
            "aufgefallen",
            "aufgenommen",
            "angenommen",
            "redaktion",
            "schade",
            "schlichter",
            "schlichtet",
            "sandalen",
            "schiessen",
            "schiesst",
            "schmeisst",
            "scheiben",
            "schreien",
            "gesetz",
            "interne",
            "dauern",
            "gesicht",
            "gerecht",
            "lieder",
            "beschlossen",
            "belegen",
            "bewerbung",
            "entschuldigung",
            "verloren",
            "verlaengert",
            "veraendert",
            "verweigert",
            "vortrag",
            "verbraucher",
            "wochentag",
            "gestanden",
            "gesprochen",
            "gestrigen",
            "gelesen",
            "gedacht",
            "beschaeftigt",
            "vermisst",
            "vergiss",
            "verpassen",
            "verjagen",
            "verfasst",
            "abschluss",
            "abrufen",
            "anbietet",
            "ueberfuehrt",
            "funktionaere",
            "viertel",
        }
    ),
}
