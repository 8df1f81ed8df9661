"""`python -m bot intents`: the editors' tools for the intents folder.

``check`` validates (and finds colliding examples), ``test`` runs the editors' regression cases through the
real bot, ``schema`` prints the JSON Schema for YAML editors, ``export``/``import`` convert to and from CSV
for spreadsheet work, ``suggest``/``misses`` turn what customers wrote and the bot did not understand into
examples to paste. None of them changes the folder unless told where to write (``import --into``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import intents_dir
from bot.content.loader import ContentError, LoadResult, load_folder
from bot.content.problems import Problem


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "intents",
        help="check, test and maintain the intents folder",
        description="Tools for the editors' intents folder (default: $BOT_INTENTS or ./intents).",
    )
    parser.set_defaults(handler=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="intents_command", metavar="ACTION")

    check = _action(
        actions,
        "check",
        "validate the folder and look for colliding examples",
        "Validate every file of the folder and report all problems at once (file:line: where: what), then "
        "look for examples that also reach another intent. Exit 1 on errors (with --strict: on warnings too).",
    )
    _folder_argument(check)
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    _format_argument(check)
    check.set_defaults(handler=cmd_check)

    test = _action(
        actions,
        "test",
        "run the tests: cases and a leave-one-out run over all examples",
        "Run the folder's 'tests:' cases through the real bot (exit 1 if one fails), and measure how well "
        "each example is recognised when it is left out of its intent.",
    )
    _folder_argument(test)
    _format_argument(test)
    test.add_argument("--no-loo", action="store_true", help="skip the leave-one-out run over the examples")
    test.add_argument("--top", type=int, default=10, help="confused pairs and weakest intents to show")
    test.set_defaults(handler=cmd_test)

    explain = _action(
        actions,
        "explain",
        "show how the bot scores a message and what it would do with it",
        "Show the matcher's candidates for TEXT with each score's parts and best example, and what the bot "
        "would do with TEXT as the first message of a conversation (answer, 'did you mean', not understood, "
        "hand over), and why.",
    )
    explain.__class__ = _TextThenFolder
    explain.add_argument("text", metavar="TEXT", help="the customer's message (in quotes)")
    explain.add_argument("--language", metavar="LANG", help="language of the message (default: detected)")
    _folder_argument(explain)
    explain.set_defaults(handler=cmd_explain)

    schema = _action(
        actions,
        "schema",
        "print the JSON Schema of an intents file",
        "Print the JSON Schema of an intents file, for YAML editors that check while you type "
        "(the same schema is shipped as bot/content/intents.schema.json).",
    )
    schema.set_defaults(handler=cmd_schema)

    export = _action(
        actions,
        "export",
        "write intents, variables and settings to a CSV file",
        "Write every intent's titles, examples, not_examples, answers and other keys, and the folder's "
        "variables, settings, messages and tone, to a CSV file (one row per text) for spreadsheet work.",
    )
    _folder_argument(export)
    export.add_argument(
        "--csv", required=True, type=Path, metavar="FILE", help="CSV file to write ('-': stdout)"
    )
    export.set_defaults(handler=cmd_export)

    import_ = _action(
        actions,
        "import",
        "turn a CSV file (as exported) into intents YAML",
        "Read a CSV file as written by 'export' (comma, semicolon or tab separated) and turn it into YAML: "
        "printed, or written to a new folder with --into. Every bad row is reported with its line number.",
    )
    import_.add_argument("--csv", required=True, type=Path, metavar="FILE", help="CSV file to read")
    import_.add_argument(
        "--into", type=Path, metavar="DIR", help="folder to write the YAML to (default: print the YAML)"
    )
    import_.set_defaults(handler=cmd_import)

    for name, helptext in (
        ("suggest", "group what customers wrote and the bot missed, and propose examples to add"),
        ("misses", "list recent customer messages the bot did not understand or handed over"),
    ):
        action = _action(actions, name, helptext, helptext[0].upper() + helptext[1:] + ".")
        action.add_argument("--since", default="7d", help="how far back: 12h, 7d, 2w (default: 7d)")
        action.add_argument(
            "--database", "--db", type=str, metavar="FILE", help="SQLite file (default: $BOT_DATABASE)"
        )
        _folder_argument(action)
        action.set_defaults(handler=cmd_suggest if name == "suggest" else cmd_misses)


class _TextThenFolder(argparse.ArgumentParser):
    """``explain TEXT --language de DIR``: argparse hands out both positionals before the option, so a DIR
    after it would be rejected; take it as the folder when none was given."""

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if getattr(parsed, "folder", None) is None and extras and not extras[0].startswith("-"):
            parsed.folder = Path(extras.pop(0))
        return parsed, extras


def _action(
    actions: argparse._SubParsersAction[Any], name: str, helptext: str, description: str
) -> argparse.ArgumentParser:
    """One sub-command: ``helptext`` for the list in ``intents --help``, ``description`` for its own."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=helptext, description=description)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _folder_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", nargs="?", type=Path, metavar="DIR", help="intents folder (default: $BOT_INTENTS)"
    )


def _format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _folder(args: argparse.Namespace) -> Path:
    folder: Path | None = args.folder
    return folder if folder is not None else intents_dir()


def _load(args: argparse.Namespace) -> LoadResult | list[Problem]:
    try:
        return load_folder(_folder(args))
    except ContentError as exc:
        return exc.problems


def _loaded_or_report(args: argparse.Namespace) -> LoadResult | None:
    """The loaded folder; or ``None`` after printing why it does not load."""
    loaded = _load(args)
    if isinstance(loaded, LoadResult):
        return loaded
    for problem in loaded:
        print(problem)
    print(f"{_folder(args)}: the folder does not load; run 'intents check' and fix the errors first")
    return None


def _print_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def _count(problems: list[Problem]) -> tuple[int, int]:
    errors = sum(1 for p in problems if p.is_error)
    return errors, len(problems) - errors


def cmd_check(args: argparse.Namespace) -> int:
    from bot.content.checks import run_checks

    started = time.perf_counter()
    loaded = _load(args)
    if isinstance(loaded, LoadResult):
        report = run_checks(loaded)
        problems, collisions = report.problems, [c.as_dict() for c in report.collisions]
        summary = _summary(loaded)
    else:
        problems, collisions, summary = loaded, [], {}
    errors, warnings = _count(problems)
    failed = errors > 0 or (args.strict and warnings > 0)
    if args.format == "json":
        _print_json(
            {
                "ok": not failed,
                "errors": errors,
                "warnings": warnings,
                "problems": [p.as_dict() for p in problems],
                "collisions": collisions,
                "summary": summary,
            }
        )
        return 1 if failed else 0
    for problem in problems:
        print(problem)
    seconds = time.perf_counter() - started
    folder = _folder(args)
    if errors:
        print(f"{folder}: {errors} error(s), {warnings} warning(s); the bot will not load this folder")
    else:
        verdict = "FAILED (--strict: warnings count)" if failed else "OK"
        print(
            f"{folder}: {verdict}: {summary['intents']} intents, {summary['examples']} examples, "
            f"{summary['tests']} tests in {summary['files']} files; {warnings} warning(s) ({seconds:.1f}s)"
        )
    return 1 if failed else 0


def _summary(result: LoadResult) -> dict[str, Any]:
    content = result.content
    by_language: dict[str, int] = {}
    for intent in content.intents:
        for language, examples in intent.examples.items():
            by_language[language] = by_language.get(language, 0) + len(examples)
    return {
        "files": len(result.files),
        "intents": len(content.intents),
        "examples": sum(by_language.values()),
        "tests": len(content.tests),
        "examples_by_language": by_language,
    }


def cmd_explain(args: argparse.Namespace) -> int:
    """What the matcher scores and what a first turn does with the text: the editors' view of one message."""
    from bot.content.brain import Brain
    from bot.core.policy import ConversationState, Situation, Turn

    loaded = _loaded_or_report(args)
    if loaded is None:
        return 1
    content = loaded.content
    languages = content.settings.languages
    if args.language is not None and args.language not in languages:
        print(
            f"--language {args.language}: the folder's languages are {', '.join(languages)}", file=sys.stderr
        )
        return 2
    brain = Brain.build(content)
    analysis = brain.analyze(args.text, language=args.language)
    how = "given" if args.language else "detected"
    print(brain.index.explain(args.text, analysis.language))
    tone = analysis.tone
    reasons = f" ({', '.join(tone.reasons)})" if tone.reasons else ""
    asks = "; asks for a human" + (f" ('{tone.handoff_phrase}')" if tone.handoff_phrase else "")
    print(f"language: {analysis.language} ({how})")
    print(f"tone: anger {tone.anger:.1f} of 100{reasons}{asks if tone.wants_human else ''}")
    outcome = brain.first_turn_outcome(args.text, analysis.language)
    decision = brain.decide(
        ConversationState(language=analysis.language),
        Turn(now=datetime.now(UTC), text=args.text, analysis=analysis),
        Situation(),
    )
    print(f"first message of a conversation: {_outcome_words(outcome, content)}")
    print(f"decision: {decision.outcome}; why: {decision.explanation or '-'}")
    return 0


def _outcome_words(outcome: str, content: Any) -> str:
    words = {
        "clarify": "asks 'did you mean ...?' with the near misses (still counts as not understood)",
        "not_understood": "says it did not understand",
        "escalate": "hands over to a human",
    }
    if outcome in words:
        return f"{outcome}: {words[outcome]}"
    intent = content.intent(outcome)
    if intent is not None and intent.escalate:
        return f"{outcome}: answers with this intent, then hands over to a human"
    return f"{outcome}: answers with this intent"


def cmd_schema(args: argparse.Namespace) -> int:
    from bot.content.schema import json_schema_text

    sys.stdout.write(json_schema_text())
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from bot.content.evaluate import format_report, run_tests

    loaded = _loaded_or_report(args)
    if loaded is None:
        return 1
    report = run_tests(loaded.content, held_out=not args.no_loo)
    if args.format == "json":
        _print_json({"ok": not report.failed_cases, **report.as_dict()})
    else:
        for line in format_report(report, top=args.top):
            print(line)
    return 1 if report.failed_cases else 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.content.csvio import ENCODING, folder_rows, write_csv

    loaded = _load(args)
    if not isinstance(loaded, LoadResult):
        for problem in loaded:
            print(problem, file=sys.stderr)
        print(f"{_folder(args)}: the folder does not load; fix it before exporting", file=sys.stderr)
        return 1
    intents = loaded.content.intents
    if str(args.csv) == "-":
        write_csv(intents, sys.stdout, folder_rows(loaded))
        return 0
    try:
        with args.csv.open("w", encoding=ENCODING, newline="") as out:
            rows = write_csv(intents, out, folder_rows(loaded))
    except OSError as error:
        print(f"{args.csv}: cannot be written: {_reason(error, args.csv)}", file=sys.stderr)
        return 2
    print(
        f"wrote {rows} rows for {len(intents)} intents (and the folder's settings, variables, messages, "
        f"tone and tests) to {args.csv}"
    )
    return 0


def _reason(error: OSError, path: Path) -> str:
    if isinstance(error, FileNotFoundError) and not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if isinstance(error, IsADirectoryError):
        return "it is a folder; give a file name"
    return str(error.strerror or error)


def _target_languages(into: Path | None) -> tuple[str, ...] | None:
    """The languages of the folder imported into, if it has files that load (its settings, say); else
    ``None``: the CSV's own ``languages`` row decides."""
    if into is None or not into.is_dir() or not any(into.glob("*.y*ml")):
        return None
    try:
        return load_folder(into).content.settings.languages
    except ContentError:
        return None


def cmd_import(args: argparse.Namespace) -> int:
    from bot.content.csvio import intents_yaml, read_csv_file

    try:
        imported = read_csv_file(args.csv, _target_languages(args.into))
    except ContentError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        if len(error.problems) == 1 and error.problems[0].where == "(file)":
            return 2
        print(f"{args.csv}: {len(error.problems)} bad row(s); nothing was written", file=sys.stderr)
        return 1
    text = intents_yaml(imported.intents, imported.sections)
    if args.into is None:
        sys.stdout.write(text)
        return 0
    target: Path = args.into / "intents.yaml"
    if target.exists():
        print(
            f"{target} exists already; import into an empty folder and move the intents over", file=sys.stderr
        )
        return 1
    try:
        args.into.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{target}: cannot be written: {_reason(error, target)}", file=sys.stderr)
        return 2
    others = [path.name for path in sorted(args.into.iterdir()) if path.suffix in (".yaml", ".yml")]
    others = [name for name in others if name != target.name]
    print(f"wrote {len(imported.intents)} intents", end="")
    if imported.sections:
        print(f" and the folder's {', '.join(imported.sections)}", end="")
    print(f" to {target}; next: python -m bot intents check {args.into}")
    if imported.sections and others:
        print(
            f"note: {args.into} also holds {', '.join(others)}; what is defined in both places is reported "
            "as 'defined twice' by the check: keep one"
        )
    elif not imported.sections:
        print(
            "note: the CSV has only intents; copy settings, variables, messages, tone and tests (the other "
            f".yaml files of the folder it was exported from) into {args.into} before the check"
        )
    return 0


def _missed(args: argparse.Namespace) -> tuple[LoadResult, list[Any]] | int:
    """Shared by ``misses`` and ``suggest``: the current folder, and the missed messages judged by it."""
    from bot.config import database_location
    from bot.content.brain import Brain
    from bot.content.suggest import SuggestError, find_misses, parse_since, read_messages

    try:
        since = datetime.now(UTC) - parse_since(args.since)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    loaded = _load(args)
    if not isinstance(loaded, LoadResult):
        print(f"{_folder(args)}: the folder does not load; run 'intents check' first", file=sys.stderr)
        return 1
    try:
        location = database_location(args.database or os.environ.get("BOT_DATABASE"))
        if not isinstance(location, Path):
            print(
                "intents misses/suggest read a SQLite file; with PostgreSQL, `db copy --from URL --to FILE`"
                " makes one to read",
                file=sys.stderr,
            )
            return 1
        messages = read_messages(location, since)
    except SuggestError as error:
        print(error, file=sys.stderr)
        return 1
    return loaded, find_misses(messages, Brain.build(loaded.content))


def cmd_misses(args: argparse.Namespace) -> int:
    from bot.content.suggest import format_misses

    found = _missed(args)
    if isinstance(found, int):
        return found
    _, misses = found
    for line in format_misses(misses):
        print(line)
    still = sum(1 for miss in misses if miss.still_missed)
    print(
        f"{len(misses)} missed message(s) since {args.since}; {still} still not understood by the current folder"
    )
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from bot.content.brain import Brain
    from bot.content.suggest import attach_nearest, group_misses, suggestions_yaml

    found = _missed(args)
    if isinstance(found, int):
        return found
    loaded, misses = found
    groups = group_misses(misses)
    if not groups:
        print(f"# nothing to suggest: no message since {args.since} is still missed by the current folder")
        return 0
    attach_nearest(groups, Brain.build(loaded.content))
    print(
        f"# {len(groups)} group(s) of messages the bot still misses (since {args.since}). Nothing was changed;"
    )
    print("# read each proposal, then paste what fits into the intents folder and run 'intents check'.\n")
    print(suggestions_yaml(groups, loaded.content))
    return 0
