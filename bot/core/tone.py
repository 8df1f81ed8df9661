"""Tone analysis: how angry a customer message is, and whether the customer asks for a human.

Both decisions escalate a conversation, so both must be explainable to the editor who tunes the lists and to
the agent who picks up the ticket: every point of the 0-100 anger score comes with a reason string
("phrase 'Frechheit' (+30)", "capitals 85% (+15)", "'!!!' (+10)"). See ``docs/tone.md``.

How the score is built (the *points* are additive evidence, the score saturates):

* editor phrases from ``tone.anger``: weight x 10 points each (weight 1-3), matched fuzzily on normalised text,
* built-in signals from the raw text: shouting in capitals, ``!!!``/``?!`` runs, angry emoji, and the
  accumulation of complaint wording ("still no answer, why?", a few points at most),
* conversation signals: the same message sent again (``recent``), consecutive unmatched messages (``misses``),
* English only: negative words of VADER's MIT-licensed lexicon (``bot/core/tone_lexicon_en.json``) that no
  editor phrase covered, reported as ``negative words: 'dismal' (-3.0), 'grim' (-2.7) (+25)``,
* optionally a small linear model (``bot/core/tone_model.json``), reported as ``model: +N ('word', ...)``,
* optionally, when the caller supplies the message's sentence vector, a linear model over it
  (``bot/core/tone_vector_model.json``), reported as ``sentence meaning: +N``, and in English a second,
  small one for negative tone short of anger (disappointment, a flight three hours late), ``negative tone: +N``,
* ``anger = 100 * (1 - exp(-points / SATURATION))``: one strong phrase alone stays below the default
  escalation threshold of 60, a strong phrase plus any second signal crosses it, and piling on more evidence
  approaches but never exceeds 100.

"Wants a human" is a separate yes/no decision from the ``tone.handoff`` phrases plus the built-in commands
``/human``, ``/agent``, ``/mensch``, ``/mitarbeiter``; it ignores questions about the bot ("are you a human?")
and the customer's own people ("my supervisor").
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Indel

from bot.core.matching_semantic import Embedder, FloatArray
from bot.core.model import Lang, ToneLexicon, ToneResult
from bot.core.normalize import normalize
from bot.core.tone_model import ToneModel, load_default_model, load_known_words
from bot.core.tone_vectors import VectorToneModel, load_default_vector_model
from bot.core.tone_words import (
    ARTICLES,
    BOT_QUESTIONS,
    COMMON_WORDS,
    COMPLAINT_WORDS,
    HANDOFF_FALSE_FRIENDS,
    LEXICON_NEGATORS,
    NEGATORS,
    PERSISTENCE_WORDS,
    POSSESSIVES,
    ROLE_MARKERS,
)

SATURATION = 35.0
"""Points at which the score reaches 63 (1 - 1/e); chosen so that a weight-3 phrase alone (30 points, score 58)
stays below the default ``anger_threshold`` of 60 and any second signal on top of it crosses it."""

POINTS_PER_WEIGHT = 10.0
"""An editor's weight 1 / 2 / 3 is worth 10 / 20 / 30 points."""

MAX_GAP = 1
"""Extra words allowed between two words of a multi-word phrase ("seit drei Wochen" matches "seit Wochen")."""

HANDOFF_COMMANDS = ("/human", "/agent", "/mensch", "/mitarbeiter", "/person", "/support")
"""Slash commands that always mean "let me talk to a person", whatever the lists say."""

ANGRY_EMOJI: Mapping[str, int] = {
    "😠": 10,
    "😡": 12,
    "🤬": 15,
    "👿": 10,
    "💢": 10,
    "🖕": 15,
    "😤": 8,
    "👎": 6,
    "🙄": 5,
    "😒": 5,
    "😾": 8,
    "🤯": 5,
    "😑": 4,
    "🤢": 8,
    "🤮": 10,
    "💩": 8,
}
"""Emoji -> points. Each distinct emoji counts once (a row of 😡😡😡 is one emoji, plus its repetition)."""

MIN_LEARNED_WORDS = 3
"""The learned lines (n-gram model, sentence vector) need a message of at least this many words. One or two
words are too little evidence for a statistical model: GoEmotions counts a bare "No." as disapproval, so the
English model scored "no", "nope" and "nah" +30, and a customer declining the offer of a person was handed
over as angry (issue #13, finding 2). Short insults are the phrase lists' job ("Idiot!"), not the model's."""

SHORT_REPLY_WORDS = 4
_REPLY_OPENERS = frozenset({"no", "nope", "nah", "nein", "ne", "noe", "noep"})
"""A message of at most :data:`SHORT_REPLY_WORDS` words that opens with one of these is a reply to the bot
("no, that's not it", "no, that's wrong", "nein, das stimmt nicht"): a customer correcting a "did you mean"
or declining an offer. GoEmotions labels such replies disapproval, and the English model gave them its full
30 points, the largest single group of calm CLINC150 validation questions flagged at the TweetEval threshold
(4 of 19, issue #17). The learned lines skip them; phrases and the other signals still count ("no, you
idiots!")."""

LEXICON_FILE = "tone_lexicon_en.json"
LEXICON_LANGUAGE = "en"
LEXICON_POINTS = 5.0
"""Points per unit of VADER valence: "horrid" (-2.5) = 12, "dismal" (-3.0) = 15. Chosen on TweetEval emotion
*train* and the Airline calibration carve: 5 and 7 tied (F1 0.758 on emotion train), 5 is the smaller push on
calm text."""
LEXICON_CAP = 25.0
"""The lexicon alone never reaches the default threshold 60 (25 points = score 51): it adds to the editors'
phrases and the other signals, it does not escalate on its own."""
LEXICON_STRONG = -2.5
"""One negative word alone counts only at this valence or below ("hate", "worst", "disgusting"); weaker words
count from two distinct ones on. Calm questions do contain one milder negative word ("is it dangerous to
travel", "what is my tax burden", "define antagonist"): counting every single word raised Airline F1 to 0.755
but flagged 1.2-1.5 % of CLINC150 validation questions at the Airline threshold."""
_LEXICON_WINDOW = 3
"""A lexicon word up to this many words after a negation does not count (VADER looks three words back)."""

_COMPLAINT_POINTS = 3
_COMPLAINT_FREE = 1
_COMPLAINT_CAP = 12
_EMOJI_CAP = 25
_PUNCT_CAP = 15
_CAPS_MIN_LETTERS = 8
"""Fewer letters than this are never "shouting": "OK", "DSL", "IBAN?" are normal."""

_EXCLAIM_RUN = re.compile(r"!{2,}|[!?]*(?:\?!|!\?)[!?]*|[!?1]*!!1+[!?1]*")
_WORD = re.compile(r"[^\W\d_]+")
_SHOUTED_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_a-zß-ÿ]{5,}(?![^\W\d_])")
"""An upper-case word of five or more letters: a row of acronyms ("DSL LTE SIM PUK") is not shouting."""


_LEXICON: list[Mapping[str, float]] = []


def load_word_lexicon() -> Mapping[str, float]:
    """The shipped English negative words (word -> valence, negative), read once per process; package data,
    never fetched. Empty when the file is missing, so the signal simply stays silent."""
    if not _LEXICON:
        path = resources.files("bot.core").joinpath(LEXICON_FILE)
        raw = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        words = raw.get("words", {})
        _LEXICON.append({str(k): float(v) for k, v in words.items() if float(v) < 0})
    return _LEXICON[0]


def saturate(points: float) -> float:
    """Map additive evidence points to the 0-100 score (monotone, 0 -> 0, never reaches 100)."""
    if points <= 0:
        return 0.0
    return round(100.0 * (1.0 - math.exp(-points / SATURATION)), 1)


def allowed_edits(length: int) -> int:
    """Typo budget for a word of this length, in insertions/deletions (a changed letter costs two).

    None below 7 letters ("hate" must not fire on "date", "Betrug" not on "Beitrag", "bitter" not on
    "better"); one missing or extra letter up to 9 ("Frechheiit"); from 10 letters two, i.e. also one wrong
    letter ("incompetant"). Two swapped letters count as one typo from 7 letters ("Frechhiet"). Real words
    close to a phrase word ("aufgefallen" / "ausgefallen") are matched exactly only, see ``known_words``.
    """
    if length < 7:
        return 0
    if length < 10:
        return 1
    return 2


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of a phrase as the matcher needs it; a ``*`` at either end makes it a stem (prefix/suffix)."""

    text: str
    prefix: bool = False
    """``Betrüg*``: also matches ``betrueger``, ``betruegerisch``."""
    suffix: bool = False
    """``*frechheit``: also matches the head of a compound, ``riesenfrechheit``."""

    def matches(self, token: str, *, fuzzy: bool = True) -> bool:
        """``fuzzy=False`` for real words: "rating" must not count as a typo of "ranting"."""
        word = self.text
        if token == word:
            return True
        budget = allowed_edits(len(word)) if fuzzy else 0
        candidates = [token]
        if self.prefix and len(token) > len(word):
            candidates.append(token[: len(word)])
            if budget:
                candidates.extend((token[: len(word) + 1], token[: len(word) - 1]))
        if self.suffix and len(token) > len(word):
            candidates.append(token[-len(word) :])
            if budget:
                candidates.extend((token[-len(word) - 1 :], token[-len(word) + 1 :]))
        return any(_is_typo(candidate, word, budget, fuzzy) for candidate in candidates)


def _is_typo(candidate: str, word: str, budget: int, fuzzy: bool) -> bool:
    """Equal, or within the typo budget; the first letter must always agree (typos there are rare)."""
    if candidate == word:
        return True
    if not fuzzy or candidate[:1] != word[:1]:
        return False
    if len(word) >= 7 and len(candidate) == len(word) and sorted(candidate) == sorted(word):
        return OSA.distance(candidate, word, score_cutoff=1) == 1  # two swapped letters: "frechhiet"
    return budget > 0 and Indel.distance(candidate, word, score_cutoff=budget) <= budget


@dataclass(frozen=True, slots=True)
class _Phrase:
    original: str
    words: tuple[_Word, ...]
    points: float

    @property
    def size(self) -> int:
        return sum(len(w.text) for w in self.words)

    @property
    def canonical(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True, slots=True)
class _Hit:
    phrase: _Phrase
    start: int
    end: int
    """Token span ``[start, end)`` the phrase covered."""
    matched: str
    positions: frozenset[int]
    """The tokens that matched phrase words (a span may have unmatched words in gaps)."""


def _compile(phrase: str, points: float) -> _Phrase | None:
    """Normalise an editor's phrase; ``*`` marks stems and survives normalisation."""
    words: list[_Word] = []
    for raw in phrase.split():
        parts = normalize(raw.strip("*")).split()
        for i, part in enumerate(parts):
            prefix = raw.endswith("*") and i == len(parts) - 1
            suffix = raw.startswith("*") and i == 0
            words.append(_Word(part, prefix=prefix, suffix=suffix))
    if not words:
        return None
    return _Phrase(phrase, tuple(words), points)


class _PhraseSet:
    """All phrases of one kind for one language, with an index that keeps per-message work small.

    Every phrase is indexed by its first word's first letter (typos on the first letter are rare, and
    :meth:`_Word.matches` requires it), so a token is compared only with words that could match it.
    """

    def __init__(self, phrases: Iterable[_Phrase], known_words: frozenset[str] = frozenset()) -> None:
        self.phrases = tuple(phrases)
        self._known = known_words
        self._vocab: dict[str, list[_Word]] = {}
        self._suffixes: list[_Word] = []
        """Compound heads (``*frechheit``) can sit anywhere in a token, so they are tried on every token."""
        for phrase in self.phrases:
            for word in phrase.words:
                if word.suffix:
                    self._suffixes.append(word)
                else:
                    self._vocab.setdefault(word.text[:1], []).append(word)
        self._cache: dict[str, frozenset[_Word]] = {}
        self._by_first: dict[_Word, list[int]] = {}
        """Phrases (by position) per first word: a message is checked only against phrases that can start in
        it, not against all of them (a message touches a handful of the ~1,500 phrases)."""
        for position, phrase in enumerate(self.phrases):
            if phrase.words:
                self._by_first.setdefault(phrase.words[0], []).append(position)

    def _word_hits(self, token: str) -> frozenset[_Word]:
        """All phrase words ``token`` matches (memoised: customers reuse a small vocabulary)."""
        hit = self._cache.get(token)
        if hit is None:
            fuzzy = token not in self._known
            words = itertools.chain(self._vocab.get(token[:1], ()), self._suffixes)
            hit = frozenset(w for w in words if w.matches(token, fuzzy=fuzzy))
            if len(self._cache) < 50_000:
                self._cache[token] = hit
        return hit

    def find(self, tokens: Sequence[str]) -> list[_Hit]:
        """Non-overlapping hits, longest phrases first, skipping phrases right after a negation."""
        per_token = [self._word_hits(t) for t in tokens]
        present = frozenset().union(*per_token)
        candidates = sorted(i for word in present for i in self._by_first.get(word, ()))
        hits: list[_Hit] = []
        for phrase in (self.phrases[i] for i in candidates):
            if not all(word in present for word in phrase.words):
                continue
            positions = _locate(phrase, per_token)
            if positions is None:
                continue
            start, end = positions[0], positions[-1] + 1
            if start > 0 and tokens[start - 1] in NEGATORS and phrase.words[0].text not in NEGATORS:
                continue
            hits.append(_Hit(phrase, start, end, " ".join(tokens[start:end]), frozenset(positions)))
        hits.sort(
            key=lambda h: (-len(h.phrase.words), h.matched != h.phrase.canonical, -h.phrase.size, h.start)
        )
        taken: set[int] = set()
        kept: list[_Hit] = []
        for hit in hits:
            covered = hit.positions
            if covered & taken:
                continue
            taken |= covered
            kept.append(hit)
        kept.sort(key=lambda h: h.start)
        return kept


def _locate(phrase: _Phrase, per_token: Sequence[frozenset[_Word]]) -> tuple[int, ...] | None:
    """Token positions of the first place where the phrase's words occur in order, at most :data:`MAX_GAP`
    words apart; the words in a gap stay free for other phrases ("bunch of incompetant clowns")."""
    first = phrase.words[0]
    for start, hits in enumerate(per_token):
        if first not in hits:
            continue
        positions = [start]
        for word in phrase.words[1:]:
            pos = positions[-1]
            nxt = next(
                (i for i in range(pos + 1, min(pos + 2 + MAX_GAP, len(per_token))) if word in per_token[i]),
                None,
            )
            if nxt is None:
                break
            positions.append(nxt)
        else:
            return tuple(positions)
    return None


def capitals_share(text: str) -> tuple[float, int]:
    """Share of upper-case letters among letters in words of two or more letters, and the letter count."""
    letters = [ch for word in _WORD.findall(text) if len(word) >= 2 for ch in word]
    if not letters:
        return 0.0, 0
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters), len(letters)


class ToneAnalyzer:
    """Scores one customer message. Build once per content load: phrases are normalised and indexed here."""

    def __init__(
        self,
        lexicon: ToneLexicon,
        languages: Sequence[str] = ("de", "en"),
        *,
        model: ToneModel | bool | None = True,
        known_words: Mapping[str, frozenset[str]] | None = None,
        word_lexicon: Mapping[str, float] | bool = True,
        vector_model: VectorToneModel | bool | None = True,
        embedder: Embedder | None = None,
    ) -> None:
        """``model=True`` loads the shipped model if there is one, ``False``/``None`` disables it.

        ``vector_model=True`` loads the shipped sentence-vector model (German, fitted on the vectors of the
        multilingual encoder ``use-multilingual-v3``); it adds evidence only for messages whose vector the caller
        passes to :meth:`analyze` or that ``embedder`` (an encoder of that name) can embed. Without either it is
        silent, and the core never runs an encoder itself.

        ``word_lexicon=True`` loads the shipped English negative-word lexicon, ``False`` disables it, a mapping
        (word -> negative valence) replaces it.

        ``known_words`` (default: the shipped ``tone_vocab.json``) are real words per language that are matched
        exactly, never as typos of a phrase.
        """
        self.languages = tuple(languages)
        all_langs = list(dict.fromkeys([*self.languages, *lexicon.anger, *lexicon.handoff]))
        self._anger: dict[Lang, _PhraseSet] = {}
        self._handoff: dict[Lang, _PhraseSet] = {}
        known = load_known_words() if known_words is None else known_words
        for lang in all_langs:
            real = known.get(lang, frozenset()) | COMMON_WORDS.get(lang, frozenset())
            anger = (
                _compile(p, float(w) * POINTS_PER_WEIGHT) for p, w in lexicon.anger.get(lang, {}).items()
            )
            self._anger[lang] = _PhraseSet((p for p in anger if p is not None), real)
            handoff = (_compile(p, 0.0) for p in lexicon.handoff.get(lang, ()))
            self._handoff[lang] = _PhraseSet((p for p in handoff if p is not None), real)
        if word_lexicon is True:
            self._words: Mapping[str, float] = load_word_lexicon()
        elif word_lexicon is False:
            self._words = {}
        else:
            self._words = word_lexicon
        self._vectors: VectorToneModel | None
        if vector_model is True:
            self._vectors = load_default_vector_model()
        elif isinstance(vector_model, VectorToneModel):
            self._vectors = vector_model
        else:
            self._vectors = None
        self._embedder = embedder if embedder is not None and self._vectors is not None else None
        if (
            self._embedder is not None
            and self._vectors is not None
            and not self._vectors.accepts(self._embedder.name)
        ):
            self._embedder = None  # another encoder's vectors would be misread by these weights
        self._model: ToneModel | None
        if model is True:
            self._model = load_default_model()
        elif isinstance(model, ToneModel):
            self._model = model
        else:
            self._model = None

    def _sets(self, table: Mapping[Lang, _PhraseSet], language: str) -> list[_PhraseSet]:
        """The message's language; an unknown language gets every list (better a guess than nothing)."""
        if language in table:
            return [table[language]]
        return list(table.values())

    def analyze(
        self,
        text: str,
        language: str,
        *,
        recent: Sequence[str] = (),
        misses: int = 0,
        vector: Sequence[float] | FloatArray | None = None,
    ) -> ToneResult:
        """Anger 0-100 with its reasons, and whether the customer asked for a human.

        ``vector``: the message's sentence vector from the encoder the vector model was fitted on, if the caller
        has it (the matcher computed it already); otherwise the ``embedder`` given at construction, if any."""
        norm = normalize(text)
        tokens = norm.split()
        evidence: list[tuple[str, float]] = []

        covered: set[int] = set()
        for phrases in self._sets(self._anger, language):
            for hit in phrases.find(tokens):
                evidence.append((_describe(hit), hit.phrase.points))
                covered.update(range(hit.start, hit.end))
        if language == LEXICON_LANGUAGE and self._words:
            evidence.extend(_negative_words(tokens, covered, self._words))
        evidence.extend(_complaint_wording(tokens, language))
        evidence.extend(_surface_signals(text))
        evidence.extend(_conversation_signals(norm, recent, misses))
        learned = len(tokens) >= MIN_LEARNED_WORDS and not _is_short_reply(tokens)
        if self._model is not None and learned:
            contribution = round(self._model.points(norm, language))
            if contribution > 0:
                words = ", ".join(f"'{w}'" for w in self._model.evidence(norm, language))
                label = f"model: +{contribution}" + (f" ({words})" if words else "")
                evidence.append((label, float(contribution)))

        model_points = sum(p for label, p in evidence if label.startswith("model: +"))
        if learned:
            evidence.extend(self._vector_evidence(text, language, vector, model_points))

        points = sum(p for _, p in evidence)
        handoff = self._handoff_phrase(text, tokens, language)
        return ToneResult(
            anger=saturate(points),
            reasons=tuple(reason for reason, _ in evidence),
            wants_human=handoff is not None,
            handoff_phrase=handoff,
        )

    def accepts_vectors(self, encoder_name: str) -> bool:
        """Whether sentence vectors from ``encoder_name`` can be read by the vector model (another encoder's
        would be misread by its weights, so the caller passes them only when this says yes)."""
        return self._vectors is not None and bool(encoder_name) and self._vectors.accepts(encoder_name)

    def _vector_evidence(
        self, text: str, language: str, vector: Sequence[float] | FloatArray | None, model_points: float
    ) -> list[tuple[str, float]]:
        """Reason lines from the sentence-vector model, when it has a model for the language and a vector:
        ``sentence meaning`` (anger; with a ``shared_cap`` only what the n-gram model's line, ``model_points``,
        left of it) and ``negative tone`` (a few points for disappointment and dissatisfaction, at most its own
        small cap, ``VectorToneModel.negative``, and within the same shared cap: "you are not wrong about that"
        read as +9 model, +21 meaning and +8 negative would reach 66)."""
        vectors = self._vectors
        model = vectors.languages.get(language) if vectors is not None else None
        if vectors is None or model is None or not text.strip():
            return []
        if vector is None and self._embedder is not None:
            vector = self._embedder.embed([text])[0]
        if vector is None:
            return []
        points = model.points(vector)
        if model.shared_cap is not None:
            points = min(points, model.shared_cap - model_points)
        contribution = round(points)
        lines = [(f"sentence meaning: +{contribution}", float(contribution))] if contribution >= 5 else []
        negative = vectors.negative_points(vector, language)
        if model.shared_cap is not None:  # learned evidence alone never reaches the default threshold
            negative = min(negative, model.shared_cap - model_points - sum(p for _, p in lines))
        negative = round(negative)
        if negative >= 5:
            lines.append((f"negative tone: +{negative}", float(negative)))
        return lines

    def _handoff_phrase(self, text: str, tokens: Sequence[str], language: str) -> str | None:
        stripped = text.strip().casefold()
        for command in HANDOFF_COMMANDS:
            if (
                stripped == command
                or stripped.startswith(command + " ")
                or stripped.startswith(command + "@")
            ):
                return command
        found: list[_Hit] = []
        for phrases in self._sets(self._handoff, language):
            for hit in phrases.find(tokens):
                before = tokens[hit.start - 1] if hit.start > 0 else ""
                after = tokens[hit.end] if hit.end < len(tokens) else ""
                if len(hit.phrase.words) == 1 and (
                    before in HANDOFF_FALSE_FRIENDS or before in POSSESSIVES or after in HANDOFF_FALSE_FRIENDS
                ):
                    continue
                if _role_before(tokens, hit.start):
                    continue  # "als Mitarbeiter", "as an agent": the customer's own role
                window = tokens[max(0, hit.start - 5) : hit.start]
                if any(pair in BOT_QUESTIONS for pair in itertools.pairwise(window)):
                    continue  # "are you a human?" asks about the bot, it does not ask for a person
                found.append(hit)
        found.sort(key=lambda h: (h.matched != h.phrase.canonical, -h.phrase.size))
        return found[0].phrase.original if found else None


def _is_short_reply(tokens: Sequence[str]) -> bool:
    """'no, that's wrong': a short correction or refusal (:data:`_REPLY_OPENERS`), not evidence of anger."""
    return len(tokens) <= SHORT_REPLY_WORDS and bool(tokens) and tokens[0] in _REPLY_OPENERS


def _role_before(tokens: Sequence[str], start: int) -> bool:
    """'als Mitarbeiter', 'as an agent': the customer's role, seen through at most one article."""
    before = tokens[start - 1] if start > 0 else ""
    if before in ARTICLES and start > 1:
        before = tokens[start - 2]
    return before in ROLE_MARKERS


def _describe(hit: _Hit) -> str:
    """``phrase 'Frechheit' (+30)``, with the customer's spelling when it differed (a typo or a stem)."""
    shown = f"phrase '{hit.phrase.original}'"
    canonical = hit.phrase.canonical
    if hit.matched != canonical and len(hit.phrase.words) == hit.end - hit.start:
        shown += f" as '{hit.matched}'"
    elif hit.matched != canonical:
        shown += f" in '{hit.matched}'"
    return f"{shown} (+{hit.phrase.points:.0f})"


def _negative_words(
    tokens: Sequence[str], covered: set[int], lexicon: Mapping[str, float]
) -> list[tuple[str, float]]:
    """Negative words of the lexicon that no editor phrase covered (the editors' phrases take precedence: a
    word they weighed is not counted twice), each distinct word once, skipped after a negation; one word
    alone counts only if it is strongly negative (:data:`LEXICON_STRONG`)."""
    found: dict[str, float] = {}
    for i, token in enumerate(tokens):
        valence = lexicon.get(token)
        if valence is None or i in covered or token in found:
            continue
        if any(t in LEXICON_NEGATORS for t in tokens[max(0, i - _LEXICON_WINDOW) : i]):
            continue
        found[token] = valence
    if len(found) < 2 and all(v > LEXICON_STRONG for v in found.values()):
        return []
    points = round(min(LEXICON_CAP, LEXICON_POINTS * -sum(found.values())))
    if points <= 0:
        return []
    ranked = sorted(found.items(), key=lambda item: item[1])
    shown = ", ".join(f"'{w}' ({v:.1f})" for w, v in ranked[:3])
    more = f", +{len(ranked) - 3} more" if len(ranked) > 3 else ""
    return [(f"negative words: {shown}{more} (+{points})", float(points))]


def _complaint_wording(tokens: Sequence[str], language: str) -> list[tuple[str, float]]:
    """The accumulation of complaint words ("still no answer, why?"), worth a few points at most."""
    words = COMPLAINT_WORDS.get(language)
    if words is None:
        return []
    found = list(dict.fromkeys(t for t in tokens if t in words))
    points = min(_COMPLAINT_CAP, _COMPLAINT_POINTS * (len(found) - _COMPLAINT_FREE))
    if points <= 0 or not any(w in PERSISTENCE_WORDS for w in found):
        return []
    shown = ", ".join(f"'{w}'" for w in found[:5])
    return [(f"complaint wording {shown} (+{points})", float(points))]


def _surface_signals(text: str) -> list[tuple[str, float]]:
    """Shouting, punctuation runs and emoji: read from the raw text, which normalisation throws away."""
    signals: list[tuple[str, float]] = []
    share, letters = capitals_share(text)
    if letters >= _CAPS_MIN_LETTERS and share >= 0.6 and _SHOUTED_WORD.search(text):
        points = round(10 + 10 * (share - 0.6) / 0.4)
        signals.append((f"capitals {share:.0%} (+{points})", float(points)))

    runs = _EXCLAIM_RUN.findall(text)
    if runs:
        total = 0
        shown: list[str] = []
        for run in runs:
            points = 10 if (run.count("!") >= 3 or "?" in run or "1" in run) else 5
            total += points
            if run not in shown:
                shown.append(run)
        total = min(total, _PUNCT_CAP)
        label = ", ".join(f"'{r[:6]}'" for r in shown[:3])
        signals.append((f"{label} (+{total})", float(total)))

    emoji_points = 0
    seen: list[str] = []
    for emoji, points in ANGRY_EMOJI.items():
        count = text.count(emoji)
        if count:
            seen.append(emoji if count == 1 else f"{emoji}x{count}")
            emoji_points += points + (3 if count > 1 else 0)
    if emoji_points:
        emoji_points = min(emoji_points, _EMOJI_CAP)
        signals.append((f"emoji {' '.join(seen)} (+{emoji_points})", float(emoji_points)))
    return signals


def _conversation_signals(norm: str, recent: Sequence[str], misses: int) -> list[tuple[str, float]]:
    """Frustration visible only across messages: repeating oneself, and the bot failing again and again."""
    signals: list[tuple[str, float]] = []
    if norm and len(norm) >= 3:
        repeats = 0
        for previous in recent:
            other = normalize(previous)
            if other and (other == norm or fuzz.ratio(other, norm) >= 90):
                repeats += 1
        if repeats:
            points = min(15 * repeats, 30)
            label = "same message repeated" if repeats == 1 else f"same message sent {repeats + 1} times"
            signals.append((f"{label} (+{points})", float(points)))
    if misses > 0:
        points = min(8 * misses, 24)
        label = "1 unmatched message before" if misses == 1 else f"{misses} unmatched messages in a row"
        signals.append((f"{label} (+{points})", float(points)))
    return signals


__all__ = ["SATURATION", "ToneAnalyzer", "allowed_edits", "capitals_share", "load_word_lexicon", "saturate"]
