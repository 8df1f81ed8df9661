"""Which language a customer writes in, from function words and spelling cues, with a sticky prior.

Customer messages are short ("Rechnung?", "ok", "danke"), so a statistical model of the text alone would
flip-flop. The detector therefore adds up small, explainable pieces of evidence per language:

* function words (articles, pronouns, auxiliaries, question words) -- the strongest cue, because they are
  frequent and rarely shared between German and English,
* characters and spellings (``ä ö ü ß``, ``sch``, ``-ung``; English ``th``, ``-ing``, ``'s``),
* the channel's hint (e.g. the Telegram client language) as a weak prior,
* the language of the conversation so far as a stronger prior: a short or ambiguous message keeps it,
  only clear evidence switches.

It never answers a language outside ``supported``; with no evidence at all the first supported language
(the folder's default) wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.normalize import normalize


def _words(text: str) -> frozenset[str]:
    """A word list written as running text, so the lists stay readable and easy for editors to review."""
    return frozenset(text.split())


_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "de": _words(
        """
        ich du er sie es wir ihr mich mir dich dir uns euch ihnen mein meine meinen meinem meiner dein deine
        ihre ihren ihrem unser unsere euer der die das den dem des ein eine einen einem einer kein keine
        keinen nicht und oder aber doch auch noch schon nur sehr mal bitte danke ist sind bin bist war waren
        wird werden wurde habe hast hat haben hatte kann koennen kannst muss muessen soll will moechte
        moechten wie was wo wann warum wieso weshalb welche welcher welches wer wen wem mit von zu zum zur
        bei nach fuer ueber unter auf aus um im am vom ins ans hallo guten tag morgen abend ja nein gibt
        geht funktioniert immer wieder jetzt heute seit dass wenn weil ob sich man hier da dort mehr
        """
    ),
    "en": _words(
        """
        i you he she it we they me my mine your yours our us them their the a and or but not no yes is
        are am was were be been will would can could should must shall have has had do does did dont doesnt
        cant wont isnt im ive what where when why how which who whom whose with from to of on at for by
        about into this that these those there here please thanks thank hello hi hey still again now today
        since if because get got want need its whats hows theres cannot any some
        """
    ),
    "fr": _words(
        """
        je tu il elle nous vous ils elles le la les un une des du de et ou mais pas ne est sont suis ai avez
        avons mon ma mes votre vos notre nos ce cette ces que qui quoi comment pourquoi quand bonjour merci
        oui non avec pour dans sur
        """
    ),
    "es": _words(
        """
        yo tu el ella nosotros vosotros ellos ellas la las los un una unos unas y o pero no es son estoy soy
        tengo tiene mi mis su sus que quien como donde cuando por para con hola gracias si muy esta este
        """
    ),
    "it": _words(
        """
        io tu lui lei noi voi loro il lo la gli le un una e o ma non sono ho ha mio mia che chi come dove
        quando perche per con ciao grazie si molto questo questa
        """
    ),
    "nl": _words(
        """
        ik jij je hij zij wij jullie het de een en of maar niet geen is zijn ben heb heeft mijn mijn jouw
        onze wat waar wanneer waarom hoe met van voor naar bij hallo dank bedankt ja nee
        """
    ),
}

# Spelling cues on the raw (lower-cased, un-normalised) text: (pattern, language, weight).
_CHAR_CUES: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"[äöüß]"), "de", 1.5),
    (re.compile(r"sch|ung\b|keit\b|heit\b|\bge\w+t\b|tz"), "de", 0.5),
    (re.compile(r"th|\w+ing\b|\w'(s|t|re|ve|ll|m|d)\b|ph|\bwh"), "en", 0.5),
    (re.compile(r"[éèêàç]"), "fr", 0.8),
    (re.compile(r"[ñ¿¡]"), "es", 1.5),
)

HINT_WEIGHT = 0.6
"""Evidence the channel's hint is worth: it breaks ties, but one function word outweighs it."""

STICKY_WEIGHT = 1.6
"""Evidence the conversation's language so far is worth: two clear function words are needed to switch."""


def language_scores(text: str, supported: Sequence[str]) -> dict[str, float]:
    """Evidence per supported language found in ``text`` alone (no priors); explainable, additive."""
    scores = dict.fromkeys(supported, 0.0)
    words = normalize(text).split()
    for word in words:
        for lang in supported:
            vocabulary = _FUNCTION_WORDS.get(lang)
            if vocabulary is not None and word in vocabulary:
                scores[lang] += 1.0
    raw = text[:2000].lower()
    for pattern, lang, weight in _CHAR_CUES:
        if lang in scores:
            hits = len(pattern.findall(raw))
            if hits:
                # Diminishing returns: a long text full of "th" must not drown out its function words.
                scores[lang] += weight * min(hits, 3)
    return scores


def detect_language(
    text: str,
    supported: Sequence[str],
    hint: str | None = None,
    previous: str | None = None,
) -> str:
    """The supported language ``text`` is most likely written in.

    ``hint`` is the channel's guess (a prior worth :data:`HINT_WEIGHT`), ``previous`` the conversation's
    language so far (worth :data:`STICKY_WEIGHT`). Ties go to ``previous``, then ``hint``, then the first
    supported language. Regional codes such as ``de-AT`` count as their base language.
    """
    if not supported:
        raise ValueError("detect_language needs at least one supported language")
    scores = language_scores(text, supported)

    def base(code: str | None) -> str | None:
        return code.split("-")[0].split("_")[0].lower() if code else None

    hint_lang, previous_lang = base(hint), base(previous)
    if hint_lang in scores:
        scores[hint_lang] += HINT_WEIGHT
    if previous_lang in scores:
        scores[previous_lang] += STICKY_WEIGHT
    order = [lang for lang in (previous_lang, hint_lang) if lang in scores]
    order += [lang for lang in supported if lang not in order]
    best = max(scores.values())
    # The first language in priority order that reaches the best score: stable on ties.
    return next(lang for lang in order if scores[lang] == best)
