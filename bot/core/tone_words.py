"""Real words that look like typos of tone phrases, so the matcher takes them at face value.

Typo tolerance is what makes "Frechhiet" count; its price is that a real word one letter away from a phrase
word would count too ("garage" is not a misspelt "garbage", "aufgefallen" is not "ausgefallen"). The shipped
``tone_vocab.json`` lists frequent words of calm customer requests; this hand-written list adds the near
misses found by checking every phrase word against the words of the evaluation corpora (see docs/tone.md).
Extend it when a reason in a ticket shows a real word read as a typo.
"""

from __future__ import annotations

from collections.abc import Mapping


def _phrases(text: str) -> list[str]:
    """Multi-word entries separated by ``|``."""
    return text.split("|")


def _words(text: str) -> frozenset[str]:
    """Word lists are kept as running text: easier to read and extend than one string per line."""
    return frozenset(text.split())


NEGATORS = _words("not no never dont didnt isnt wasnt nicht kein keine keinen keiner nie niemals")
"""A phrase directly after one of these is not counted: "not bad", "nicht schlecht", "kein Mensch antwortet"."""

LEXICON_NEGATORS = NEGATORS | _words(
    "aint arent cannot cant couldnt doesnt hadnt hasnt havent mightnt mustnt neither neednt none nope nor "
    "nothing nowhere shouldnt werent wont wouldnt without rarely seldom despite"
)
"""VADER's negations (normalised, no apostrophes): a lexicon word up to three words after one of these does
not count ("not bad at all", "never had a problem", "without any trouble")."""

HANDOFF_FALSE_FRIENDS = _words(
    "resources rights nature error errors being beings body race trafficking orange smith 007 provocateur "
    "travel estate insurance secret user free double rechte menschenrechte heit"
)
"""Words next to a handoff word that change its meaning ("human resources", "travel agent", "free agent")."""

POSSESSIVES = _words("my our his her their mein meine meinem meinen meiner unsere")
"""'my supervisor', 'meine Mitarbeiter' are the customer's own people, not a request for ours."""

ARTICLES = _words("a an the ein eine einen einem einer der die den dem")

ROLE_MARKERS = _words("als as ehemaliger ehemalige former bin im")
"""'als Mitarbeiter', 'as an agent' (or a former one), 'ich bin Mitarbeiter', "I'm an agent" describe the
customer's role, not a request for ours."""

BOT_QUESTIONS = frozenset(
    tuple(pair.split())
    for pair in _phrases(
        "are you|you are|r u|are u|am i|is this|is it|bist du|du ein|sind sie|ist das|"
        "rede ich|red ich|spreche ich|sprech ich|schreibe ich|schreib ich|chatte ich|chat ich|bin ich"
    )
)
"""Word pairs shortly before a handoff phrase that make it a question about the bot ("are you a real person?",
"am I talking to a human?", "red ich hier mit nem Menschen oder ner Maschine?"), not a request for a person."""

COMPLAINT_WORDS: Mapping[str, frozenset[str]] = {
    "en": _words(
        "not no never nobody nothing none cant cannot couldnt wont wouldnt didnt doesnt dont havent hasnt isnt "
        "arent wasnt werent still yet why again waiting waited hours days weeks months even without ever"
    ),
    "de": _words(
        "nicht kein keine keinen keiner keinem nie niemals niemand nichts wieder warum wieso "
        "weshalb warte warten gewartet stunden tage tagen wochen monate monaten ohne trotzdem endlich sogar"
    ),
}
"""Weak evidence: the words complaints are made of ("still", "no", "why", "hours"). One is normal in any
question; each further distinct one adds a few points, and only together with a persistence word."""

PERSISTENCE_WORDS = _words(
    "still yet again never nobody nothing waiting waited hours days weeks months even ever "
    "wieder nie niemals niemand nichts warte warten gewartet stunden tage tagen wochen monate monaten "
    "endlich trotzdem sogar"
)
"""Negations and questions alone are everyday grammar ("why can't I log in"); complaint wording counts only
together with a word of persistence or waiting ("still", "again", "hours", "immer noch")."""

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
            "outage",
            "outages",
            "excuse",
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
            "schein",
            "scheine",
        }
    ),
}
