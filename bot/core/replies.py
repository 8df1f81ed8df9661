"""Short replies that mean something only in context: yes, no, "never mind", "ok", and slash commands.

One place holds the vocabulary, so the policy, the editors' tests and the conversation benchmark agree on
what "nö" means. German and English, with the spellings people type on a phone ("jo", "nee", "nope",
"ja bitte", "nein danke") and one slip of the finger in longer words ("nien", "yse" is too short to guess).

Only a message made *entirely* of these words is a short reply: "nein, ich meinte die Rechnung" is a new
question and goes to the matcher.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from enum import StrEnum

from rapidfuzz.distance import OSA


class Reply(StrEnum):
    YES = "yes"
    NO = "no"
    WITHDRAW = "withdraw"
    """The customer's request has settled itself ("hat sich erledigt", "never mind")."""
    ACK = "ack"
    """An acknowledgement that asks nothing (👍, "ok", "alles klar")."""


_YES = frozenset(
    [
        "ja",
        "jaa",
        "jo",
        "joa",
        "jap",
        "jep",
        "jup",
        "jawohl",
        "jawoll",
        "gerne",
        "gern",
        "yes",
        "yess",
        "yeah",
        "yea",
        "yep",
        "yup",
        "ya",
        "yah",
        "sure",
        "y",
        "j",
        "klaro",
    ]
)
_NO = frozenset(["nein", "nee", "ne", "nö", "noe", "neh", "nope", "nah", "no", "n"])
_UNSURE = frozenset({"jein", "weiß nicht", "weiss nicht", "maybe", "vielleicht", "not sure"})
"""Neither yes nor no (and "jein" is one letter from "nein"): the customer gets the question again."""
_POLITE = frozenset(
    [
        "bitte",
        "please",
        "pls",
        "plz",
        "danke",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "tnx",
        "thanx",
        "thnx",
        "dank",
        "sehr",
        "gut",
        "very",
        "much",
        "vielen",
        "lieber",
        "ok",
        "okay",
    ]
)
"""Words that colour a yes or no without changing it ("ja bitte", "nein danke", "no thank you")."""
_NO_PHRASES = (
    "lieber nicht",
    "besser nicht",
    "nicht nötig",
    "nicht noetig",
    "brauche ich nicht",
    "no need",
    "not now",
    "jetzt nicht",
    "no thanks",
    "nein danke",
)
_FINE_PHRASES = (
    "passt schon",
    "passt so",
    "geht schon",
    "schon ok",
    "schon okay",
    "alles gut",
    "all good",
    "i'm good",
    "im good",
    "i'm fine",
    "im fine",
    "no worries",
    "ich komme klar",
    "i'll manage",
)
"""After a no, these only confirm it ("nö, passt schon"); alone they are an acknowledgement."""
_OTHER_PHRASES = (
    "etwas anderes",
    "was anderes",
    "etwas ganz anderes",
    "was ganz anderes",
    "keins davon",
    "keines davon",
    "keine davon",
    "keins",
    "nichts davon",
    "nichts von beidem",
    "weder noch",
    "nicht das",
    "das nicht",
    "anderes thema",
    "something else",
    "something different",
    "none of these",
    "none of those",
    "none of them",
    "none",
    "neither",
    "not that",
    "other topic",
)
"""The answer to "did you mean" that the "No, something else" button gives, typed: a no (with or without
"nein, " before it). Typing a button's label must never do less than pressing it."""
_YES_PHRASES = (
    "ja bitte",
    "yes please",
    "please do",
    "go ahead",
    "mach das",
    "machen sie das",
    "gerne doch",
    "that would be great",
    "das wäre gut",
    "ja gerne",
)
_WITHDRAW_PHRASES = (
    "hat sich erledigt",
    "hat sich schon erledigt",
    "hat sich geklärt",
    "hat sich geklaert",
    "ist erledigt",
    "schon erledigt",
    "doch nicht",
    "schon gut",
    "vergiss es",
    "vergessen sie es",
    "nicht mehr nötig",
    "nicht mehr noetig",
    "problem gelöst",
    "problem geloest",
    "never mind",
    "nevermind",
    "forget it",
    "not needed anymore",
    "no longer needed",
    "all sorted",
    "it's sorted",
    "its sorted",
    "sorted it",
    "figured it out",
    "solved it",
    "cancel my request",
    "anfrage zurückziehen",
)
_ACK = frozenset(
    [
        "ok",
        "okay",
        "okey",
        "oki",
        "k",
        "kk",
        "np",
        "alles",
        "klar",
        "alright",
        "all",
        "right",
        "verstanden",
        "understood",
        "got",
        "it",
        "passt",
        "super",
        "prima",
        "gut",
        "fine",
        "cool",
        "perfekt",
        "perfect",
        "top",
        "👍",
        "👌",
        "🙏",
        "✅",
        "🙂",
        "😊",
    ]
)
_ACK_PHRASES = (
    "alles klar",
    "all right",
    "got it",
    "verstanden",
    "ok danke",
    "okay thanks",
    "ok thanks",
    "no problem",
    "kein problem",
    "passt schon",
    "alles gut",
    "all good",
)

_MAX_WORDS = 6
"""A short reply is short: longer messages are questions, whatever words they contain."""

_WORD = re.compile(r"[\w'’]+|[^\w\s]", re.UNICODE)


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFC", text.casefold()).replace("’", "'")
    text = re.sub("[\U0001f3fb-\U0001f3ff\ufe0f]", "", text)  # skin tones and emoji style selectors
    text = re.sub(r"[.,!?;:()\"…\-]+", " ", text)
    return " ".join(text.split())


def _squeeze(word: str) -> str:
    """ "neeein" -> "nein"-ish: letters repeated for emphasis count once (but keep a doubled one)."""
    return re.sub(r"(.)\1{2,}", r"\1\1", word)


def _near(word: str, vocabulary: frozenset[str]) -> bool:
    """Exact, or one edit (a swap counts as one) away from a vocabulary word of four letters or more."""
    if word in vocabulary or re.sub(r"(.)\1+", r"\1", word) in vocabulary:  # "noo", "jaaa"
        return True
    if len(word) < 4:
        return False
    return any(len(known) >= 4 and OSA.distance(word, known) <= 1 for known in vocabulary)


def _words(text: str) -> list[str]:
    return [_squeeze(w) for w in _WORD.findall(text)]


_WITHDRAW_LEAD = frozenset(
    [
        "ach",
        "ah",
        "aha",
        "oh",
        "na",
        "ok",
        "okay",
        "also",
        "dann",
        "ja",
        "jo",
        "nein",
        "nee",
        "das",
        "es",
        "alles",
        "mein",
        "meine",
        "problem",
        "sorry",
        "ähm",
        "hm",
        "hmm",
        "gut",
        "danke",
        "jetzt",
        "eigentlich",
        "ist",
        "is",
        "the",
        "it",
        "it's",
        "its",
        "all",
        "my",
        "issue",
        "i",
        "i've",
        "ive",
        "we",
        "we've",
        "have",
        "so",
        "well",
        "yes",
        "no",
        "actually",
        "oops",
        "please",
        "bitte",
        "ich",
        "möchte",
        "will",
        "want",
        "to",
        "would",
        "like",
    ]
)
"""What may stand before a withdrawal phrase in its clause ("Das Problem hat sich erledigt", "I've sorted
it"). Anything else makes the phrase part of another sentence: "Das geht doch nicht!" is a complaint."""
_WITHDRAW_TAIL = frozenset(["nötig", "noetig", "mehr", "schon", "jetzt", "wieder", "now", "again", "anymore"])
_INTERJECTIONS = frozenset(
    ["ach", "ah", "oh", "na", "ok", "okay", "also", "dann", "ja", "nein", "nee", "ähm"]
)
_OPENING_ONLY = frozenset(["doch nicht", "schon gut"])
"""Phrases that withdraw only at the very start ("Ach, doch nicht"): "Das ist doch nicht normal!" is not."""


def _withdraws(text: str) -> bool:
    """ "Ah, jetzt geht es wieder. Hat sich erledigt": one short clause of a short message says it.

    Clauses count, so "Hat sich schon erledigt, danke und tschüss!" (seven words) withdraws. The phrase
    must open its clause (after a word or two such as "ach", "das Problem"), so "Das geht doch nicht!",
    "Ich will doch nicht ewig warten" or "Das hat sich doch nicht erledigt" never close a ticket; nor does
    the question "Ist das Problem gelöst?", which asks the team.
    """
    pieces = re.split(r"([.,!?;\n]+)", text)
    clauses = [(pieces[i], pieces[i + 1] if i + 1 < len(pieces) else "") for i in range(0, len(pieces), 2)]
    if sum(len(_words(_normal(clause))) for clause, _ in clauses) > 2 * _MAX_WORDS:
        return False
    for clause, end in clauses:
        words = _words(_normal(clause))
        if not words or len(words) > _MAX_WORDS:
            continue
        joined = f" {' '.join(words)} "
        for phrase in _WITHDRAW_PHRASES:
            at = joined.find(f" {phrase} ")
            if at < 0:
                continue
            before = joined[:at].split()
            after = joined[at + len(phrase) + 2 :].split()
            lead = _INTERJECTIONS if phrase in _OPENING_ONLY else _WITHDRAW_LEAD
            if len(before) > 3 or any(w not in lead for w in before):
                continue
            if "?" in end and all(w in _POLITE for w in after):
                continue  # "Problem gelöst?": a question to the team
            if any(
                w not in _POLITE and w not in _PLEASANTRY_WORDS and w not in _WITHDRAW_TAIL for w in after
            ):
                continue  # "Ich will das Problem gelöst haben" demands the opposite
            return True
    return False


def _something_else(words: list[str]) -> bool:
    """ "keins davon", "none of these fit": a phrase of :data:`_OTHER_PHRASES` and nothing but politeness."""
    joined = " ".join(words)
    for phrase in _OTHER_PHRASES:
        if joined == phrase or joined.startswith(phrase + " "):
            tail = joined[len(phrase) :].split()
            if all(w in _POLITE or w in _OTHER_TAIL for w in tail):
                return True
    return False


_OTHER_TAIL = frozenset(["fit", "fits", "passt", "davon", "stimmt", "is", "it", "right"])


def classify(text: str) -> Reply | None:
    """What a short message means on its own terms, or ``None`` when it is more than a short reply."""
    if _withdraws(text):
        return Reply.WITHDRAW
    normal = _normal(text)
    if not normal or normal.startswith("/") or normal in _UNSURE:
        return None
    words = _words(normal)
    if not words or len(words) > _MAX_WORDS:
        return None
    joined = " ".join(words)
    after_no = " ".join(words[1:]) if len(words) > 1 and _near(words[0], _NO) else joined
    if any(j == p or j.startswith(p + " ") for p in _NO_PHRASES for j in (joined, after_no)):
        return Reply.NO  # "nein danke", "nee, lieber nicht"
    if after_no != joined and any(after_no == p or after_no.startswith(p + " ") for p in _FINE_PHRASES):
        return Reply.NO  # "nö, passt schon", "no, all good"
    if any(joined == phrase or joined.startswith(phrase + " ") for phrase in _YES_PHRASES):
        return Reply.YES
    if _something_else(words) or (len(words) > 1 and _near(words[0], _NO) and _something_else(words[1:])):
        return Reply.NO  # "etwas anderes", "nein, etwas anderes"
    content = [w for w in words if w not in _POLITE]
    if not content:
        # Only polite words: "danke", "ok", "thanks" – an acknowledgement.
        thanks = {"danke", "thanks", "thank", "thx", "ty", "tnx", "thanx", "thnx"}
        return Reply.ACK if joined in _ACK or set(words) & _ACK or set(words) & thanks else None
    yes = all(_near(w, _YES) for w in content)
    no = all(_near(w, _NO) for w in content)
    if yes and not no:
        return Reply.YES
    if no and not yes:
        return Reply.NO
    if joined in _ACK_PHRASES or all(w in _ACK for w in content):
        return Reply.ACK
    return None


_PLEASANTRY_CORE = frozenset(
    [
        "hallo",
        "hallöchen",
        "hallochen",
        "hi",
        "hey",
        "hiya",
        "hello",
        "helo",
        "moin",
        "servus",
        "grüezi",
        "greetings",
        "danke",
        "dankeschön",
        "dank",
        "merci",
        "thanks",
        "thank",
        "thx",
        "cheers",
        "tschüss",
        "tschüs",
        "tschau",
        "ciao",
        "bye",
        "goodbye",
        "wiedersehen",
        "👋",
        "🙏",
    ]
)
"""At least one of these (or a phrase) makes a pleasantry: "a", "top" or "bis dann" alone do not."""
_PLEASANTRY_WORDS = _PLEASANTRY_CORE | frozenset(
    [
        # greetings
        "grüß",
        "grüss",
        "gruß",
        "gruss",
        "gott",
        "guten",
        "gute",
        "tag",
        "morgen",
        "abend",
        "zusammen",
        "good",
        "morning",
        "afternoon",
        "evening",
        "day",
        "there",
        "everyone",
        # thanks
        "vielen",
        "herzlichen",
        "dir",
        "many",
        "lot",
        "a",
        # goodbyes
        "auf",
        "bis",
        "dann",
        "später",
        "bald",
        "see",
        "ya",
        "later",
        "und",
        "and",
        # colour: "super, danke", "great, thanks"
        "great",
        "brilliant",
        "sehr",
        "gut",
        "very",
        "much",
        "you",
        "bitte",
        "please",
        "ok",
        "okay",
        "alles",
        "klar",
        "alright",
        "super",
        "prima",
        "perfekt",
        "perfect",
        "top",
        "👍",
        "🙂",
        "😊",
    ]
)
_PLEASANTRY_PHRASES = (
    # openers that announce a question without asking one
    "ich habe eine frage",
    "ich hätte eine frage",
    "ich habe ein anliegen",
    "kurze frage",
    "ich brauche hilfe",
    "können sie mir helfen",
    "kannst du mir helfen",
    "ist da jemand",
    "i have a question",
    "i have a request",
    "quick question",
    "i need help",
    "can you help me",
    "is anyone there",
    "anyone there",
    # closers
    "das hat geholfen",
    "das war hilfreich",
    "das war alles",
    "das war's",
    "das passt so",
    "klingt gut",
    "nicht schlecht",
    "für die hilfe",
    "im voraus",
    "schon mal",
    "vorab",
    "schönen tag noch",
    "einen schönen tag",
    "schönes wochenende",
    "schönen abend",
    "mach's gut",
    "ich muss los",
    "ich melde mich später wieder",
    "bis zum nächsten mal",
    "that helped",
    "that was helpful",
    "that's all",
    "that's great",
    "sounds good",
    "not bad",
    "much appreciated",
    "for the help",
    "in advance",
    "have a nice day",
    "have a good day",
    "have a nice evening",
    "have a good weekend",
    "take care",
    "talk to you later",
    "gotta go",
    "i'll come back later",
    "for now",
)


_GREETING_PHRASES = (
    "guten tag",
    "guten morgen",
    "guten abend",
    "grüss gott",
    "gruss gott",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "see you",
    "see ya",
    "bis dann",
    "bis später",
    "bis bald",
)


_PLEASANTRY_PHRASE = re.compile(
    "|".join(
        rf"(?<!\w){re.escape(p)}(?!\w)"
        for p in sorted((*_PLEASANTRY_PHRASES, *_GREETING_PHRASES), key=len, reverse=True)
    )
)


_TOPIC = re.compile(
    r"\b(frage|fragen|anliegen|question|questions|request)\s+"
    r"(?:zu|zur|zum|wegen|bezüglich|bzgl|über|ueber|about|regarding|concerning|with)(?:\s+\S+){1,3}$"
)
"""The topic an opener announces: "ich habe eine Frage *zu meiner Rechnung*" (three words at most)."""


def announces_topic(text: str) -> bool:
    """An opener with the topic it announces and nothing else: "Hallo, ich habe eine Frage zu meiner
    Rechnung". Alone it is a (vague) question about the bill; next to the real question ("Die ist viel zu
    hoch") it is an opener like "Hallo, ich habe eine Frage", and the policy leaves it out, or its topic
    alone would add an answer about a copy of the bill to the one about a wrong bill."""
    normal = " ".join(_words(_normal(text)))
    stripped = _TOPIC.sub(r"\1", normal)
    return stripped != normal and _pleasantry_text(stripped)


@functools.lru_cache(maxsize=16384)
def is_pleasantry(text: str) -> bool:
    """A greeting, thanks or goodbye, or an opener that asks nothing yet ("Hallo, ich habe eine Frage").

    The policy leaves such parts out of a message that also asks something real: "Hallo, … Die Rechnung
    ist zu hoch" deserves the answer about the bill, not "Hallo! Worum geht es?" before it.
    """
    return _pleasantry_text(" ".join(_words(_normal(text))))


def _pleasantry_text(normal: str) -> bool:
    joined, count = _PLEASANTRY_PHRASE.subn(" ", normal)
    found = count > 0
    words = joined.split()
    if not all(w in _PLEASANTRY_WORDS for w in words):
        return False
    return found or any(w in _PLEASANTRY_CORE for w in words)


_PERSON_WORDS = frozenset(
    [
        "mensch",
        "menschen",
        "mitarbeiter",
        "mitarbeiterin",
        "mitarbeitern",
        "berater",
        "beraterin",
        "person",
        "human",
        "agent",
        "operator",
        "someone",
        "somebody",
        "jemand",
        "jemanden",
        "jemandem",
    ]
)
_NOT_A = frozenset(["kein", "keine", "keinen", "keinem", "keiner", "no", "not", "nicht", "without", "ohne"])
"""Right before a person word (one article may sit between): "keinen Mitarbeiter", "not a human"."""
_DO_NOT = frozenset(["don't", "dont", "do not", "nicht", "not", "never", "nie"])
_WANT = frozenset(
    ["want", "need", "wish", "will", "möchte", "moechte", "brauche", "brauch", "benötige", "wollte", "mag"]
)


def declines_person(text: str) -> bool:
    """ "No, I don't want a human", "nein, keinen Mitarbeiter", "Ich will mit keinem Menschen reden".

    The tone analyser hears "human" and "Mitarbeiter" as a request for one; in a reply to the bot's offer
    of a person, or after a no, the words say the opposite. Short messages only (twelve words).
    """
    if len(_words(_normal(text))) > 2 * _MAX_WORDS:
        return False
    # Clause by clause: in "Ich will nicht mehr warten, gib mir einen Menschen" the "nicht" is the waiting's.
    return any(_declines_in(_words(_normal(clause))) for clause in re.split(r"[,.;:!?\n]+", text))


def _declines_in(words: list[str]) -> bool:
    for index, word in enumerate(words):
        if word not in _PERSON_WORDS:
            continue
        before = words[max(0, index - 2) : index]
        if before and (before[-1] in _NOT_A or (len(before) == 2 and before[0] in _NOT_A)):
            return True  # "keinen Mitarbeiter", "not a human", "no human"
        earlier = " ".join(words[:index])
        if any(f"{d} " in f"{earlier} " for d in _DO_NOT) and any(w in _WANT for w in words[:index]):
            return True  # "I don't want a human", "ich möchte nicht mit einem Menschen sprechen"
    return False


_PASS_ON_PHRASES = (
    "pass me on",
    "pass me to",
    "put me through",
    "connect me",
    "transfer me",
    "to your team",
    "to the team",
    "to a person",
    "weiterleiten",
    "weiter leiten",
    "gib mich weiter",
    "geben sie mich weiter",
    "leite mich weiter",
    "leiten sie mich weiter",
    "verbinde mich",
    "verbinden sie mich",
    "an das team",
    "an ihr team",
    "an euer team",
    "an einen menschen",
)
"""The bot's own offer ("… or I can pass you on to our team", "… oder ich gebe Sie an unser Team weiter")
echoed back: a request for a person whatever the bot asked last."""
_NEGATIONS = frozenset(
    ["nicht", "kein", "keine", "keinen", "not", "don't", "dont", "never", "nie", "no", "nein"]
)


def asks_to_be_passed_on(text: str) -> bool:
    """ "Yes, pass me on", "bitte weiterleiten": short, and nothing in it says no (a leading "nein" answers
    the bot's last question: "Nein, bitte weiterleiten" after "did you mean" still asks for a person)."""
    words = _words(_normal(text))
    if not words or len(words) > _MAX_WORDS + 2:
        return False
    rest = words[1:] if _near(words[0], _NO) else words
    if any(w in _NEGATIONS for w in rest):
        return False
    joined = f" {' '.join(words)} "
    return any(f" {phrase} " in joined for phrase in _PASS_ON_PHRASES)


def starts_with_no(text: str) -> bool:
    """The message opens with a no ("nein, …", "no I don't …"), whatever follows."""
    words = _words(_normal(text))
    return bool(words) and _near(words[0], _NO)


HUMAN_COMMANDS = ("/human", "/agent", "/mensch", "/mitarbeiter")
HELP_COMMANDS = ("/help", "/hilfe", "/start", "/commands", "/befehle")


def command(text: str) -> str | None:
    """The slash command a message starts with (``/help@carebot`` -> ``/help``), lowercase; else None."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    first = stripped.split(maxsplit=1)[0].casefold()
    return first.split("@", 1)[0]
