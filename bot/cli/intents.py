"""`python -m bot intents`: the editors' tools for the intents folder.

``check`` validates (and finds colliding examples), ``test`` runs the editors' regression cases through the
real bot, ``schema`` prints the JSON Schema for YAML editors, ``export``/``import`` convert to and from CSV
for spreadsheet work, ``suggest``/``misses`` turn what customers wrote and the bot did not understand into
examples to paste. None of them changes the folder unless told where to write (``import --into``).
"""

from __future__ import annotations

import argparse
import json
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

    check = actions.add_parser("check", help="validate the folder and look for colliding examples")
    _folder_argument(check)
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    _format_argument(check)
    check.set_defaults(handler=cmd_check)

    test = actions.add_parser("test", help="run the tests: cases and a leave-one-out run over all examples")
    _folder_argument(test)
    _format_argument(test)
    test.add_argument("--no-loo", action="store_true", help="skip the leave-one-out run over the examples")
    test.add_argument("--top", type=int, default=10, help="confused pairs and weakest intents to show")
    test.set_defaults(handler=cmd_test)

    schema = actions.add_parser("schema", help="print the JSON Schema of an intents file")
    schema.set_defaults(handler=cmd_schema)

    export = actions.add_parser("export", help="write examples, answers and titles to a CSV file")
    _folder_argument(export)
    export.add_argument(
        "--csv", required=True, type=Path, metavar="FILE", help="CSV file to write ('-': stdout)"
    )
    export.set_defaults(handler=cmd_export)

    import_ = actions.add_parser("import", help="turn a CSV file (as exported) into intents YAML")
    import_.add_argument("--csv", required=True, type=Path, metavar="FILE", help="CSV file to read")
    import_.add_argument(
        "--into", type=Path, metavar="DIR", help="folder to write intents.yaml to (default: print the YAML)"
    )
    import_.set_defaults(handler=cmd_import)

    for name, helptext in (
        ("suggest", "group what customers wrote and the bot missed, and propose examples to add"),
        ("misses", "list recent customer messages the bot did not understand or handed over"),
    ):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("--since", default="7d", help="how far back: 12h, 7d, 2w (default: 7d)")
        action.add_argument("--database", type=Path, help="SQLite file (default: $BOT_DATABASE)")
        _folder_argument(action)
        action.set_defaults(handler=cmd_suggest if name == "suggest" else cmd_misses)


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


def cmd_schema(args: argparse.Namespace) -> int:
    from bot.content.schema import json_schema_text

    sys.stdout.write(json_schema_text())
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from bot.content.evaluate import format_report, run_tests

    loaded = _load(args)
    if not isinstance(loaded, LoadResult):
        for problem in loaded:
            print(problem)
        print(f"{_folder(args)}: the folder does not load; run 'intents check' and fix the errors first")
        return 1
    report = run_tests(loaded.content, held_out=not args.no_loo)
    if args.format == "json":
        _print_json({"ok": not report.failed_cases, **report.as_dict()})
    else:
        for line in format_report(report, top=args.top):
            print(line)
    return 1 if report.failed_cases else 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.content.csvio import ENCODING, write_csv

    loaded = _load(args)
    if not isinstance(loaded, LoadResult):
        for problem in loaded:
            print(problem, file=sys.stderr)
        print(f"{_folder(args)}: the folder does not load; fix it before exporting", file=sys.stderr)
        return 1
    if str(args.csv) == "-":
        rows = write_csv(loaded.content.intents, sys.stdout)
    else:
        with args.csv.open("w", encoding=ENCODING, newline="") as out:
            rows = write_csv(loaded.content.intents, out)
        print(f"wrote {rows} rows for {len(loaded.content.intents)} intents to {args.csv}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from bot.content.csvio import intents_yaml, read_csv

    try:
        intents = read_csv(args.csv)
    except ContentError as error:
        print(error, file=sys.stderr)
        return 1
    text = intents_yaml(intents)
    if args.into is None:
        sys.stdout.write(text)
        return 0
    target: Path = args.into / "intents.yaml"
    if target.exists():
        print(
            f"{target} exists already; import into an empty folder and move the intents over", file=sys.stderr
        )
        return 1
    args.into.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {len(intents)} intents to {target}; next: python -m bot intents check {args.into}")
    return 0


def _missed(args: argparse.Namespace) -> tuple[LoadResult, list[Any]] | int:
    """Shared by ``misses`` and ``suggest``: the current folder, and the missed messages judged by it."""
    from bot.config import database_path
    from bot.content.suggest import SuggestError, find_misses, parse_since, read_messages
    from bot.service.brain import Brain

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
        messages = read_messages(args.database or database_path(), since)
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
    from bot.content.suggest import attach_nearest, group_misses, suggestions_yaml
    from bot.service.brain import Brain

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
