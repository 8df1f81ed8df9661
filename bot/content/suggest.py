"""``intents misses`` and ``intents suggest``: learn from what customers wrote and the bot did not understand.

The bot stores every customer message with its analysis. This module reads them back (read-only: the running
bot may be writing at the same time, and editors' tools must never change customer data), keeps the messages
the bot could not answer, and re-asks the *current* folder about each one, so messages an editor has already
covered drop out. Similar messages are grouped (rapidfuzz ``token_set_ratio`` on normalised text), and each
group becomes either examples for the nearest existing intent or the skeleton of a new one, printed as YAML
to read and paste. The folder itself is never touched.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.content.brain import Brain
from bot.content.yamlio import dump_yaml
from bot.core.model import Content, Lang
from bot.core.normalize import normalize
from bot.core.policy import HUMAN, NONE

MISSED_OUTCOMES = ("not_understood", "clarify")
"""What the current folder does with a message that still counts as missed."""
MISSED_REASONS = ("unmatched", "ambiguous")
"""Ticket reasons that mean the bot did not understand when the message came in."""
GROUP_SIMILARITY = 60.0
"""token_set_ratio at or above which two messages are one group."""
SHOWN_CHARS = 200
"""Longer customer messages are cut to this many characters (and an ellipsis) when listed."""

_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Customer messages the bot itself handled: not those written to a human while a ticket was open (those carry
# the ticket's id but are not the message that opened it).
_QUERY = """
SELECT m.id, m.text, m.created_at, m.analysis, c.language AS customer_language, t.reason,
       (SELECT json_group_array(json(b.buttons)) FROM messages AS b
        WHERE b.customer_id = m.customer_id AND b.author = 'bot' AND b.id > m.id
          AND b.id < coalesce((SELECT min(n.id) FROM messages AS n
                               WHERE n.customer_id = m.customer_id AND n.author = 'customer' AND n.id > m.id),
                              9223372036854775807)) AS replies
FROM messages AS m
JOIN customers AS c ON c.id = m.customer_id
LEFT JOIN tickets AS t ON t.id = m.ticket_id
WHERE m.author = 'customer'
  AND m.attachment IS NULL
  AND m.payload IS NULL
  AND m.analysis IS NOT NULL
  AND c.forgotten_at IS NULL
  AND m.created_at >= ?
  AND (m.ticket_id IS NULL
       OR m.id = (SELECT min(f.id) FROM messages AS f WHERE f.ticket_id = m.ticket_id AND f.author = 'customer'))
ORDER BY m.id
"""


class SuggestError(Exception):
    """The database cannot be read; the message says what to do."""


def parse_since(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w``."""
    match = _SINCE.match(text)
    if not match:
        raise ValueError(f"--since {text!r}: write a number and a unit, e.g. 12h, 7d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    text: str
    created_at: str
    language: Lang | None
    reason: str | None
    """Why the ticket this message opened went to a human, if it opened one."""
    best: tuple[str, float] | None
    """The best intent and score when the message came in."""
    then: str = "not understood"
    """What the bot did when the message came in, read from its replies (see :func:`_then`)."""


def read_messages(database: Path, since: datetime) -> list[Stored]:
    if not database.is_file():
        raise SuggestError(f"no database at {database} (set BOT_DATABASE or pass --database)")
    uri = database.resolve().as_uri() + "?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(_QUERY, (since.astimezone(UTC).isoformat(timespec="microseconds"),)).fetchall()
    except sqlite3.Error as error:
        raise SuggestError(f"cannot read {database}: {error}") from error
    stored: list[Stored] = []
    for row in rows:
        analysis = json.loads(row["analysis"]) if row["analysis"] else {}
        intents = analysis.get("intents") or []
        best = (str(intents[0]["intent"]), float(intents[0]["score"])) if intents else None
        language = analysis.get("language") or row["customer_language"]
        replies = json.loads(row["replies"] or "[]")
        then = _then(row["reason"], [payload for buttons in replies for _, payload in buttons])
        stored.append(Stored(row["id"], row["text"], row["created_at"], language, row["reason"], best, then))
    return stored


def _then(reason: str | None, payloads: list[str]) -> str:
    """What happened to a message, from the ticket it opened and the buttons of the bot's replies to it:
    only "did you mean" offers a ``none`` button, only "not understood" a ``human`` one."""
    if reason is not None:
        return f"handed to a human ({reason})"
    if NONE in payloads:
        return "asked 'did you mean'"
    if HUMAN in payloads:
        return "not understood"
    return "answered"


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """One line of at most about ``limit`` characters: line breaks shown as spaces, the rest cut with '…'."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rstrip() + f"… ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Miss:
    message: Stored
    now: str
    """What the current folder does with the message: an intent id, ``clarify``, ``not_understood``, ..."""

    @property
    def still_missed(self) -> bool:
        return self.now in MISSED_OUTCOMES


def find_misses(messages: list[Stored], brain: Brain) -> list[Miss]:
    """Messages the current folder still does not answer, and those that went to a human because the bot did
    not understand them (whatever the folder does with them now: a human had to step in)."""
    misses: list[Miss] = []
    for message in messages:
        if not normalize(message.text):
            continue
        now = brain.first_turn_outcome(message.text, message.language)
        if now in MISSED_OUTCOMES or message.reason in MISSED_REASONS:
            misses.append(Miss(message, now))
    return misses


def format_misses(misses: list[Miss]) -> list[str]:
    """Most frequent texts first; identical texts (after normalising) are one line with a count."""
    by_text: dict[tuple[str, str], list[Miss]] = {}
    for miss in misses:
        by_text.setdefault((miss.message.language or "?", normalize(miss.message.text)), []).append(miss)
    lines: list[str] = []
    for (language, _), group in sorted(
        by_text.items(), key=lambda item: (-len(item[1]), -item[1][-1].message.id)
    ):
        last = group[-1]
        then = last.message.then
        if last.message.best:
            then += f", best {last.message.best[0]} {last.message.best[1]:g}"
        count = f"{len(group)}x " if len(group) > 1 else ""
        lines.append(
            f"{last.message.created_at[:16].replace('T', ' ')}  {language}  {count}"
            f"{shorten(last.message.text)!r}  (then: {then}; now: {last.now})"
        )
    return lines


@dataclass(slots=True)
class Group:
    language: Lang
    texts: Counter[str] = field(default_factory=Counter)
    """Original texts and how often each was written."""
    nearest: tuple[str, float] | None = None

    @property
    def size(self) -> int:
        return sum(self.texts.values())


def group_misses(misses: list[Miss], similarity: float = GROUP_SIMILARITY) -> list[Group]:
    """Leader clustering per language, most frequent phrasings first, so each group is led by a common one."""
    groups: list[Group] = []
    by_language: dict[Lang, Counter[str]] = {}
    for miss in misses:
        if miss.still_missed:
            by_language.setdefault(miss.message.language or "?", Counter())[miss.message.text] += 1
    for language, texts in sorted(by_language.items()):
        leaders: list[str] = []
        language_groups: list[Group] = []
        for text, count in sorted(texts.items(), key=lambda item: (-item[1], item[0])):
            normalized = normalize(text)
            found = process.extractOne(
                normalized, leaders, scorer=fuzz.token_set_ratio, score_cutoff=similarity
            )
            if found is None:
                leaders.append(normalized)
                language_groups.append(Group(language))
                index = len(language_groups) - 1
            else:
                index = found[2]
            language_groups[index].texts[text] += count
        groups.extend(language_groups)
    groups.sort(key=lambda g: -g.size)
    return groups


def attach_nearest(groups: list[Group], brain: Brain) -> None:
    """The intent most members lean towards, with their mean score for it."""
    for group in groups:
        scores: dict[str, list[float]] = {}
        for text, count in group.texts.items():
            best = brain.index.match(text, group.language, limit=1).best
            if best is not None:
                scores.setdefault(best.intent_id, []).extend([best.score] * count)
        if scores:
            intent, values = max(scores.items(), key=lambda item: (len(item[1]), sum(item[1])))
            group.nearest = (intent, sum(values) / len(values))


def _new_id(group: Group, taken: set[str]) -> str:
    """``new_`` and the two words the group's messages share most (longer words first on a tie)."""
    counts = Counter(w for text in group.texts for w in set(normalize(text).split()) if len(w) > 3)
    words = sorted(counts, key=lambda w: (-counts[w], -len(w), w))[:2]
    base = "new_" + "_".join(words) if words else "new_intent"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def suggestions_yaml(groups: list[Group], content: Content) -> str:
    """Comment headers explain each group; the YAML below them is ready to paste once read."""
    taken = {intent.id for intent in content.intents}
    settings = content.settings
    out: list[str] = []
    for group in groups:
        all_texts = [text for text, _ in group.texts.most_common()]
        header = f"# {group.size} message(s), {len(all_texts)} different, language {group.language}"
        texts = [text for text in all_texts if len(text) <= SHOWN_CHARS]
        long = [text for text in all_texts if len(text) > SHOWN_CHARS]
        near = group.nearest
        intent = content.intent(near[0]) if near else None
        near_enough = (
            near is not None
            and intent is not None
            and near[1] >= settings.suggest_from(intent.threshold(settings))
        )
        if long:
            header += (
                f"\n# {len(long)} message(s) longer than {SHOWN_CHARS} characters left out as examples, "
                f"e.g. {shorten(long[0], 80)!r}"
            )
        if not texts:
            out.append(f"{header}\n# nothing to propose: write a short example for what they asked\n")
            continue
        if near is not None and intent is not None and near_enough:
            where = f" ({intent.source})" if intent.source else ""
            out.append(f"{header}; nearest intent {intent.id}, mean score {near[1]:.0f}")
            out.append(
                f"# If they mean {intent.id}, add under {intent.id}{where} -> examples -> {group.language}:"
            )
            out.append(dump_yaml(texts, indent=8).rstrip("\n"))
        else:
            nearest = ""
            if near is not None:
                threshold = intent.threshold(settings) if intent else settings.min_score
                nearest = (
                    f"; nearest intent {near[0]} only scores {near[1]:.0f} "
                    f"(threshold {threshold:g}, 'did you mean' from {settings.suggest_from(threshold):g})"
                )
            out.append(f"{header}{nearest}")
            out.append("# A new intent? Paste under 'intents:', choose an id and a title, write the answers:")
            languages = content.settings.languages
            skeleton = {
                "id": _new_id(group, taken),
                "title": {lang: "TODO" for lang in languages},
                "examples": {group.language: texts},
                "answers": {lang: [] for lang in languages},
            }
            out.append(dump_yaml([skeleton], indent=2).rstrip("\n"))
        out.append("")
    return "\n".join(out)
