"""Scripted multi-turn conversations through the real engine: does the dialogue do what a person expects?

Each conversation in ``benchmarks/data/conversations.yaml`` is a customer talking to the bot (the shipped
intents folder, a real SQLite file in a temporary folder, the real outbox), sometimes with a staff member
acting in between. Every customer turn names the outcome it should have:

* an intent id: the bot answered that intent (``answers: [a, b]`` when one message asked several things);
* ``clarify`` ("did you mean"), ``rephrase`` (asked once to say it differently), ``not_understood``;
* ``declined`` (a no to the offer of a human), ``withdrawn`` (the customer closed their ticket);
* ``escalate`` (handed over), ``forward`` (silent: a person owns it); ``priority:`` (one or a list) checks
  the ticket's priority after the turn;
* ``help`` (/help, unknown commands), ``acknowledged`` (ok, 👍).

A turn is ``say: text`` or ``press: payload`` (``human``, ``none``, ``withdraw``, ``intent:<id>``); a staff
step is ``staff: claim | reply | resolve | handback``. The report is the share of customer turns handled as
expected, and every miss with the bot's own explanation. Expectations are written around clear cases so a
better matcher should not change them.

    python -m benchmarks.conversations            # all conversations, summary + failures
    python -m benchmarks.conversations --verbose  # every turn
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.channels.base import Inbound, Outbound
from bot.content.brain import Brain
from bot.content.loader import load_folder
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.service.staff import StaffService
from bot.storage import Database

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "conversations.yaml"
INTENTS = ROOT / "intents"
STAFF_ACTIONS = ("claim", "reply", "resolve", "handback")


@dataclass(frozen=True, slots=True)
class Step:
    say: str | None = None
    press: str | None = None
    staff: str | None = None
    expect: tuple[str, ...] = ()
    """Acceptable outcomes (usually one)."""
    answers: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    """Acceptable ticket priorities (anger decides between high and urgent: either is a raise)."""


@dataclass(frozen=True, slots=True)
class Conversation:
    name: str
    language: str | None
    steps: tuple[Step, ...]
    covers: str = ""


@dataclass(slots=True)
class TurnResult:
    conversation: str
    index: int
    text: str
    expected: str
    got: str
    explanation: str
    ok: bool


@dataclass(slots=True)
class Result:
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(t.ok for t in self.turns)

    @property
    def share(self) -> float:
        return self.passed / len(self.turns) if self.turns else 0.0

    def failures(self) -> list[TurnResult]:
        return [t for t in self.turns if not t.ok]


def load(path: Path = DATA) -> list[Conversation]:
    """Read and check the script file; a malformed step names its conversation and position."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    conversations = []
    names: set[str] = set()
    for item in raw["conversations"]:
        name = str(item["name"])
        if name in names:
            raise ValueError(f"{path}: conversation {name!r} appears twice")
        names.add(name)
        steps = []
        for number, step in enumerate(item["turns"], start=1):
            where = f"{path}: {name}, turn {number}"
            parsed = Step(
                say=step.get("say"),
                press=step.get("press"),
                staff=step.get("staff"),
                expect=_outcomes(step.get("expect")),
                answers=tuple(step.get("answers") or ()),
                priority=_outcomes(step.get("priority")),
            )
            if sum(x is not None for x in (parsed.say, parsed.press, parsed.staff)) != 1:
                raise ValueError(f"{where}: exactly one of say, press, staff")
            if parsed.staff is not None and parsed.staff not in STAFF_ACTIONS:
                raise ValueError(f"{where}: staff must be one of {', '.join(STAFF_ACTIONS)}")
            if parsed.staff is None and not parsed.expect and not parsed.answers:
                raise ValueError(f"{where}: a customer turn needs expect (or answers)")
            steps.append(parsed)
        conversations.append(
            Conversation(name, item.get("language"), tuple(steps), str(item.get("covers", "")))
        )
    return conversations


def _outcomes(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


class _Silent:
    """The customer's channel: replies are delivered (the outbox empties) and counted, not printed."""

    name = "bench"

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []

    async def send(self, user_id: str, message: Outbound) -> str | None:
        self.sent.append((user_id, message))
        return str(len(self.sent))


class _Clock:
    """Conversations move a minute per turn, so quiet periods and SLAs behave as in real time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


async def run(conversations: list[Conversation], brain: Brain, folder: Path) -> Result:
    result = Result()
    clock = _Clock()
    async with await Database.open(folder / "bench.db") as db:
        channel = _Silent()
        sender = OutboxSender(db, {"bench": channel})
        service = ConversationService(db, brain, clock=clock)
        staff = StaffService(db, lambda: brain.renderer, clock=clock)
        for conversation in conversations:
            ticket: int | None = None
            for index, step in enumerate(conversation.steps, start=1):
                if step.staff is not None:
                    assert ticket is not None, f"{conversation.name}: staff step without a ticket"
                    await _staff(staff, step.staff, ticket)
                    await sender.run_once()
                    continue
                report = await service.handle(
                    Inbound(
                        channel="bench",
                        user_id=conversation.name,
                        display_name="Kim",
                        language_hint=conversation.language,
                        text=step.say if step.say is not None else step.press or "",
                        payload=step.press,
                    )
                )
                await sender.run_once()
                ticket = report.ticket_id or ticket
                expected = " or ".join(step.expect or step.answers[:1])
                got = report.outcome
                ok = got in (step.expect or step.answers[:1])
                if ok and step.answers:
                    ok = report.answered == step.answers
                    got = ",".join(report.answered) if not ok else got
                if ok and step.priority:
                    found = await db.ticket(report.ticket_id) if report.ticket_id else None
                    actual = found.priority.value if found else "no ticket"
                    ok = actual in step.priority
                    got = got if ok else f"{got} with priority {actual}"
                result.turns.append(
                    TurnResult(
                        conversation.name,
                        index,
                        step.say or f"[{step.press}]",
                        expected + (f" ({' or '.join(step.priority)})" if step.priority else ""),
                        got,
                        report.explanation,
                        ok,
                    )
                )
    return result


async def _staff(staff: StaffService, action: str, ticket: int) -> None:
    if action == "claim":
        await staff.claim(ticket, "anna")
    elif action == "reply":
        await staff.reply(ticket, "anna", "Ich kümmere mich darum.")
    elif action == "resolve":
        await staff.resolve(ticket, "anna")
    else:
        await staff.handback(ticket, "anna")


def evaluate(path: Path = DATA, intents: Path = INTENTS) -> Result:
    conversations = load(path)
    brain = Brain.build(load_folder(intents).content)
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(conversations, brain, Path(folder)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="conversation script (YAML)")
    parser.add_argument("--intents", type=Path, default=INTENTS, help="intents folder")
    parser.add_argument("--verbose", action="store_true", help="print every turn")
    args = parser.parse_args(argv)
    conversations = load(args.data)
    result = evaluate(args.data, args.intents)
    for turn in result.turns if args.verbose else result.failures():
        mark = "ok  " if turn.ok else "MISS"
        print(
            f"{mark} {turn.conversation} #{turn.index}: {turn.text!r} expected {turn.expected}, "
            f"got {turn.got} ({turn.explanation})"
        )
    print(
        f"{len(conversations)} conversations, {len(result.turns)} customer turns: "
        f"{result.passed} handled as expected ({result.share:.1%})"
    )
    summary: dict[str, Any] = {
        "conversations": len(conversations),
        "turns": len(result.turns),
        "as_expected": result.passed,
        "share": round(result.share, 4),
    }
    print(json.dumps(summary))
    return 0 if not result.failures() else 1


if __name__ == "__main__":
    sys.exit(main())
