"""Load an intents folder into :class:`~bot.core.model.Content`, or explain every reason it cannot be loaded.

Loading never half-succeeds: a folder with one error produces no content at all, so a running bot keeps its
last good version instead of answering from a folder an editor is halfway through changing. And it reports
all problems in one go, because an editor who fixes one mistake per run gives up quickly.

Files are validated one section (and one intent) at a time, so a broken intent still lets the rest of its
file take part in the checks that need the whole folder: duplicate ids, follow-ups, placeholders, tests.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.content.problems import ContentError, Problem, Severity, sort_problems
from bot.content.schema import (
    TOP_LEVEL_KEYS,
    IntentModel,
    Messages,
    SettingsModel,
    TestModel,
    ToneModel,
    Variables,
    surprise,
)
from bot.content.yamlio import MAX_FILE_BYTES, Loc, ParsedFile, PlainScalar, parse_bytes, where_of
from bot.core.messages import MESSAGES
from bot.core.model import (
    Content,
    Intent,
    Lang,
    Priority,
    Settings,
    SourceRef,
    TestCase,
    ToneLexicon,
    Variable,
)
from bot.core.normalize import normalize
from bot.core.templates import RUNTIME_VARIABLES, TemplateSyntaxError, placeholders

__all__ = ["ContentError", "LoadResult", "Problem", "folder_fingerprint", "load_folder", "yaml_files"]

TEST_OUTCOMES = ("escalate", "not_understood")
"""What a test case may expect besides an intent id."""

DEFAULT_MESSAGES = "default_messages.yaml"

M = TypeVar("M", bound=BaseModel)
SourceKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadResult:
    content: Content
    warnings: list[Problem]
    files: tuple[str, ...] = ()
    """The files read, as shown in problems (the folder path joined with the relative path)."""
    sources: Mapping[SourceKey, SourceRef] = field(default_factory=dict)
    """Where each text was written, so later checks (collisions, test runs) can point at its line:
    ``("intent", id, "examples", lang, index)``, ``("variable", name)``, ``("message", name, lang)``,
    ``("test", index)``."""


@dataclass(slots=True)
class _Placed:
    """A validated piece with where it came from, for problems that point at it later."""

    file: ParsedFile
    loc: Loc
    broken: frozenset[str] = frozenset()
    """Keys that failed validation (and were left out), so checks that depend on them stay quiet."""

    @property
    def line(self) -> int:
        return self.file.line(self.loc)

    @property
    def place(self) -> str:
        return f"{self.file.path}:{self.line}"


@dataclass(slots=True)
class _Folder:
    """Everything gathered from the files before the whole-folder checks."""

    problems: list[Problem] = field(default_factory=list)
    intents: list[tuple[IntentModel, _Placed]] = field(default_factory=list)
    claimed_ids: set[str] = field(default_factory=set)
    """Ids of all intents, including those that failed validation, so follow-ups to them are not errors too."""
    messages: dict[str, tuple[dict[str, str], _Placed]] = field(default_factory=dict)
    variables: dict[str, tuple[str | dict[str, str], _Placed]] = field(default_factory=dict)
    settings: dict[str, tuple[object, _Placed]] = field(default_factory=dict)
    anger: dict[str, dict[str, tuple[float, _Placed]]] = field(default_factory=dict)
    handoff: dict[str, list[str]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    """``settings.languages``, ``message.greeting``, ``variable.hotline``: names that failed validation."""
    tone_languages: dict[str, _Placed] = field(default_factory=dict)
    """Where each language first appears under ``tone:``."""
    tests: list[tuple[TestModel, _Placed]] = field(default_factory=list)
    loose: list[tuple[_Placed, Loc, str, str | None]] = field(default_factory=list)
    """Texts inside a section that failed validation: ``(place, loc, text, message name)``. Their placeholders
    are still checked, so one type error elsewhere does not hide an unknown ``$name`` until the next run."""
    unread: dict[str, set[str]] = field(default_factory=dict)
    """File (or intent) that could not be read -> ids that are, or may be, defined in it. References to these
    ids are not reported as unknown: they are knock-on errors of the one real mistake."""
    unparsed: set[str] = field(default_factory=set)
    """Files that are not valid YAML at all."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """File -> how many knock-on "unknown id" errors were left out because of it."""

    def unknown_id(self, target: str) -> bool:
        """Whether a reference to ``target`` is really wrong (and not just pointing into a broken file)."""
        if target in self.claimed_ids:
            return False
        for source, ids in self.unread.items():
            if target in ids:
                self.suppressed[source] = self.suppressed.get(source, 0) + 1
                return False
        return True

    def error(self, place: _Placed, what: str, loc: Loc | None = None) -> None:
        self.add(place, what, "error", loc)

    def warning(self, place: _Placed, what: str, loc: Loc | None = None) -> None:
        self.add(place, what, "warning", loc)

    def add(self, place: _Placed, what: str, severity: Severity, loc: Loc | None = None) -> None:
        at = place.loc if loc is None else loc
        self.problems.append(
            Problem(place.file.path, place.file.line(at), where_of(at, place.file.data), what, severity)
        )


def yaml_files(folder: Path) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below ``folder`` in sorted path order; hidden files and folders are skipped
    (editors' tools and version control keep their own files there)."""
    found = [
        path
        for path in folder.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _read_folder(folder: Path) -> list[tuple[str, bytes]]:
    if folder.is_file():
        raise ContentError(
            [Problem(str(folder), 1, "", f"is a file; give the folder that contains it ({folder.parent})")]
        )
    if not folder.is_dir():
        raise ContentError([Problem(str(folder), 1, "", "the intents folder does not exist")])
    files = yaml_files(folder)
    if not files:
        raise ContentError([Problem(str(folder), 1, "", "the folder holds no .yaml or .yml files")])
    read: list[tuple[str, bytes]] = []
    unreadable: list[Problem] = []
    inside = folder.resolve()
    for file in files:
        try:
            target = file.resolve()
            if not target.is_relative_to(inside):
                # A link out of the folder would let whoever edits the intents read any file the bot can.
                unreadable.append(
                    Problem(
                        str(file),
                        1,
                        "(file)",
                        f"is a symbolic link to {target}, outside the intents folder; copy the file into "
                        "the folder instead",
                    )
                )
                continue
            size = file.stat().st_size
            if size > MAX_FILE_BYTES:
                unreadable.append(
                    Problem(
                        str(file),
                        1,
                        "(file)",
                        f"is {size / 1_048_576:.1f} MB; an intents file may be at most "
                        f"{MAX_FILE_BYTES // 1_048_576} MB (split it, or is it not an intents file?)",
                    )
                )
                continue
            with file.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)  # a file growing meanwhile is still bounded
            if len(raw) > MAX_FILE_BYTES:
                unreadable.append(
                    Problem(str(file), 1, "(file)", f"is larger than {MAX_FILE_BYTES // 1_048_576} MB")
                )
                continue
            read.append((file.relative_to(folder).as_posix(), raw))
        except OSError as error:
            unreadable.append(Problem(str(file), 1, "(file)", f"cannot be read: {error.strerror or error}"))
    if unreadable:
        raise ContentError(unreadable)
    return read


def _fingerprint(files: Iterable[tuple[str, bytes]], default_raw: bytes) -> str:
    digest = hashlib.sha256()
    for relative, raw in files:
        digest.update(relative.encode() + b"\0" + raw + b"\0")
    digest.update(b"defaults\0" + default_raw)
    return digest.hexdigest()


def folder_fingerprint(path: str | Path, *, defaults: str | Path | None = None) -> str:
    """What :attr:`Content.fingerprint` would be for the folder as it is now, without validating it: the
    cheap test a watcher uses to see whether anything changed."""
    return _fingerprint(_read_folder(Path(path)), _read_defaults(defaults)[1])


def load_folder(path: str | Path, *, defaults: str | Path | None = None) -> LoadResult:
    """Validate and load the folder; raises :class:`ContentError` with every problem if anything is wrong.

    ``defaults`` is the message defaults file; normally the one shipped in this package.
    """
    folder = Path(path)
    files = _read_folder(folder)
    gathered = _Folder()
    shown = [str(folder / relative) for relative, _ in files]
    for (_, raw), name in zip(files, shown, strict=True):
        _gather(parse_bytes(raw, name), gathered, raw)

    default_path, default_raw = _read_defaults(defaults)
    default_messages = _default_messages(parse_bytes(default_raw, default_path), gathered)

    fingerprint = _fingerprint(files, default_raw)
    content = _check_and_build(gathered, default_messages, str(folder), fingerprint)
    problems = sort_problems(gathered.problems)
    if content is None or any(p.is_error for p in problems):
        raise ContentError(problems)
    return LoadResult(content, problems, tuple(shown), MappingProxyType(_sources(gathered)))


# --- reading one file ----------------------------------------------------------------------------------


def _validate(
    model: type[M] | TypeAdapter[Any],
    data: object,
    file: ParsedFile,
    loc: Loc,
    out: _Folder,
    fallback: Mapping[str, object] | None = None,
) -> tuple[Any, set[str]]:
    """Validate one piece; on failure record each error at its line.

    Returns the value and the names of the keys that were broken. So that one mistake does not hide the
    next, a mapping with errors is validated again without its broken keys (required ones replaced from
    ``fallback``); the caller then skips the checks that the broken keys would have made misleading. The
    folder fails to load either way: the errors are already recorded.
    """
    try:
        return _run(model, data), set()
    except ValidationError as exc:
        allowed = tuple(model.model_fields) if not isinstance(model, TypeAdapter) else ()
        broken: set[str] = set()
        for error in exc.errors():
            out.problems.append(_validation_problem(error, file, loc, allowed))
            if error["loc"]:
                broken.add(str(error["loc"][0]))
    if not isinstance(data, dict) or not broken:
        return None, broken
    reduced = {key: value for key, value in data.items() if str(key) not in broken}
    for key in broken:
        if fallback is not None and key in fallback:
            reduced[key] = fallback[key]
    try:
        return _run(model, reduced), broken
    except ValidationError:
        return None, broken


def _run(model: type[M] | TypeAdapter[Any], data: object) -> Any:
    if isinstance(model, TypeAdapter):
        return model.validate_python(data)
    return model.model_validate(data)


_INTENT_FALLBACK: dict[str, object] = {"title": {}, "examples": {}, "answers": {}}
_MESSAGES_ADAPTER: TypeAdapter[dict[str, dict[str, str]]] = TypeAdapter(Messages)
_VARIABLES_ADAPTER: TypeAdapter[dict[str, str | dict[str, str]]] = TypeAdapter(Variables)


_ID_LINE = re.compile(rb"""(?:^|[\s{,-])['"]?id['"]?[ \t]*:[ \t]*['"]?([a-z0-9_]+)\b""", re.MULTILINE)
"""``id: x`` in block or flow style (``{id: x, ...}``): the ids an unreadable file may define."""


def _gather(file: ParsedFile, out: _Folder, raw: bytes = b"") -> None:
    out.problems.extend(file.problems)
    data = file.data
    if data is None:
        if any(p.is_error for p in file.problems):
            # Unreadable: any 'id: ...' line in it may define an intent that other files refer to.
            out.unparsed.add(file.path)
            out.unread[file.path] = {match.decode() for match in _ID_LINE.findall(raw)}
        return
    whole = _Placed(file, ())
    if not isinstance(data, dict):
        out.error(whole, "a file must be a mapping with keys such as 'intents:' or 'messages:' at the top")
        return
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            out.error(_Placed(file, (key,)), _unknown_key(str(key), TOP_LEVEL_KEYS))

    intents = data.get("intents")
    if intents is not None:
        if not isinstance(intents, list):
            out.error(
                _Placed(file, ("intents",)), "must be a list of intents, each starting with '- id: ...'"
            )
        else:
            for index, raw in enumerate(intents):
                loc: Loc = ("intents", index)
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    out.claimed_ids.add(str(raw["id"]))
                intent, broken = _validate(IntentModel, raw, file, loc, out, _INTENT_FALLBACK)
                if intent is not None:
                    out.intents.append((intent, _Placed(file, loc, frozenset(broken))))
                if (intent is None or "answers" in broken) and isinstance(raw, dict):
                    _loose_texts(raw.get("answers"), _Placed(file, loc), (*loc, "answers"), None, out)
                if intent is None and isinstance(raw, dict):
                    id_text = raw.get("id")
                    if isinstance(id_text, str) and id_text.strip():
                        # An invalid id ('Bad Id'): references to what it was meant to be are knock-ons.
                        guess = re.sub(r"[^a-z0-9_]+", "_", id_text.strip().lower())
                        out.unread.setdefault(file.path, set()).update({str(id_text), guess})

    if data.get("messages") is not None:  # an empty section (only comments below it) is fine
        messages, broken = _validate(_MESSAGES_ADAPTER, data["messages"], file, ("messages",), out)
        out.broken.update(f"message.{name}" for name in broken)
        if isinstance(data["messages"], dict):
            for name in broken:
                texts = data["messages"].get(name)
                if isinstance(texts, dict):
                    place = _Placed(file, ("messages", name))
                    for lang, text in texts.items():
                        _loose_texts([text], place, ("messages", name, lang), name, out, single=True)
        for name, texts in (messages or {}).items():
            _define(out.messages, name, texts, _Placed(file, ("messages", name)), out, "the message")

    if data.get("variables") is not None:
        variables, broken = _validate(_VARIABLES_ADAPTER, data["variables"], file, ("variables",), out)
        out.broken.update(f"variable.{name}" for name in broken)
        for name, value in (variables or {}).items():
            _define(out.variables, name, value, _Placed(file, ("variables", name)), out, "the variable")

    if data.get("settings") is not None:
        settings, broken = _validate(SettingsModel, data["settings"], file, ("settings",), out)
        out.broken.update(f"settings.{name}" for name in broken)
        if settings is not None:
            for name in sorted(settings.model_fields_set):
                place = _Placed(file, ("settings", name))
                _define(out.settings, name, getattr(settings, name), place, out, "the setting")

    if data.get("tone") is not None:
        tone, _ = _validate(ToneModel, data["tone"], file, ("tone",), out)
        if tone is not None:
            for section, by_language in (("anger", tone.anger), ("handoff", tone.handoff)):
                for lang in by_language:
                    out.tone_languages.setdefault(lang, _Placed(file, ("tone", section, lang)))
            for lang, phrases in tone.anger.items():
                defined = out.anger.setdefault(lang, {})
                for phrase, weight in phrases.items():
                    place = _Placed(file, ("tone", "anger", lang, phrase))
                    _define(defined, phrase, weight, place, out, "the anger phrase")
            for lang, phrase_list in tone.handoff.items():
                out.handoff.setdefault(lang, []).extend(phrase_list)

    tests = data.get("tests")
    if tests is not None:
        if not isinstance(tests, list):
            out.error(_Placed(file, ("tests",)), "must be a list of cases, each starting with '- text: ...'")
        else:
            for index, raw in enumerate(tests):
                case, _ = _validate(TestModel, raw, file, ("tests", index), out)
                if case is not None:
                    out.tests.append((case, _Placed(file, ("tests", index))))


def _loose_texts(
    value: object, place: _Placed, loc: Loc, message: str | None, out: _Folder, single: bool = False
) -> None:
    """Collect the texts of a section that failed validation, so their placeholders can still be checked.

    ``value`` is ``{language: [text, ...]}`` (answers) or, with ``single``, ``[text]`` at ``loc``.
    Items that are not texts (a YAML boolean, a mapping) are the validation errors already reported."""

    def usable(text: object) -> bool:
        return isinstance(text, str) and (not isinstance(text, PlainScalar) or surprise(text) is None)

    if single:
        if isinstance(value, list) and value and usable(value[0]):
            out.loose.append((place, loc, str(value[0]), message))
        return
    if not isinstance(value, dict):
        return
    for lang, items in value.items():
        if not isinstance(items, list):
            continue
        for index, text in enumerate(items):
            if usable(text):
                out.loose.append((place, (*loc, lang, index), str(text), message))


V = TypeVar("V")


def _define(
    table: dict[str, tuple[V, _Placed]], key: str, value: V, place: _Placed, out: _Folder, kind: str
) -> None:
    """Record ``key``; a second definition anywhere in the folder is an error naming both places."""
    first = table.get(key)
    if first is not None:
        out.error(place, f"{kind} '{key}' is defined twice: here and at {first[1].place}; keep one")
        return
    table[key] = (value, place)


def _unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}; allowed here: {', '.join(allowed)}"


_TYPE_MESSAGES = {
    "list_type": "must be a list: one item per line, each starting with '- '",
    "dict_type": "must be a mapping: 'key: value' lines, indented below this one",
    "model_type": "must be a mapping: 'key: value' lines, indented below this one",
    "model_attributes_type": "must be a mapping: 'key: value' lines, indented below this one",
    "string_type": "must be a text",
    "too_short": "must not be empty",
    "missing": "is required",
}


def _validation_problem(error: Any, file: ParsedFile, prefix: Loc, allowed: Sequence[str]) -> Problem:
    loc: Loc = (*prefix, *(part for part in error["loc"] if part != "[key]"))
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        what = str(ctx.get("error", error["msg"]))
    elif kind == "extra_forbidden":
        what = _unknown_key(str(loc[-1]), allowed)
        loc = loc[:-1] if len(loc) > len(prefix) + 1 else loc
    elif kind in ("less_than_equal", "greater_than_equal", "greater_than", "less_than"):
        limits = {"less_than_equal": "at most", "greater_than_equal": "at least"}
        limits |= {"greater_than": "more than", "less_than": "less than"}
        bound = next(iter(ctx.values()))
        shown = f"{bound:g}" if isinstance(bound, int | float) else bound
        what = f"must be {limits[kind]} {shown}, not {error['input']}"
    elif kind in _TYPE_MESSAGES:
        what = _TYPE_MESSAGES[kind]
    else:
        what = str(error["msg"])
    line_loc = loc if kind != "missing" else loc[:-1]
    return Problem(file.path, file.line(line_loc), where_of(loc, file.data), what)


# --- message defaults ----------------------------------------------------------------------------------


def _read_defaults(defaults: str | Path | None) -> tuple[str, bytes]:
    if defaults is not None:
        return str(defaults), Path(defaults).read_bytes()
    resource = resources.files("bot.content").joinpath(DEFAULT_MESSAGES)
    if not resource.is_file():
        return f"bot/content/{DEFAULT_MESSAGES}", b""
    return str(resource), resource.read_bytes()


def _default_messages(file: ParsedFile, out: _Folder) -> dict[str, tuple[dict[str, str], _Placed]]:
    """The package's defaults: one ``messages:`` mapping, checked like an editor's file."""
    out.problems.extend(file.problems)
    if not isinstance(file.data, dict):
        return {}
    for key in file.data:
        if key != "messages":
            out.error(_Placed(file, (key,)), _unknown_key(str(key), ("messages",)))
    messages, _ = _validate(_MESSAGES_ADAPTER, file.data.get("messages", {}), file, ("messages",), out)
    return {name: (texts, _Placed(file, ("messages", name))) for name, texts in (messages or {}).items()}


# --- whole-folder checks -------------------------------------------------------------------------------


def _check_and_build(
    out: _Folder, defaults: dict[str, tuple[dict[str, str], _Placed]], folder: str, fingerprint: str
) -> Content | None:
    settings = _settings(out)
    languages = settings.languages
    variables = {name: value for name, (value, _) in out.variables.items()}
    answer_names = set(variables) | RUNTIME_VARIABLES
    answer_names |= {name.removeprefix("variable.") for name in out.broken if name.startswith("variable.")}
    if "settings.languages" in out.broken:
        languages = ()  # unknown until fixed: per-language checks would only add noise

    _check_intents(out, languages, answer_names)
    messages = _merge_messages(out, defaults, languages, answer_names, folder)
    _check_tests(out, languages)
    for place, loc, text, message in out.loose:
        if message is None:
            _check_placeholders(out, place, loc, text, answer_names)
        elif message in MESSAGES:
            _check_placeholders(out, place, loc, text, answer_names | MESSAGES[message].extra)
    for source, count in sorted(out.suppressed.items()):
        out.problems.append(
            Problem(
                source,
                1,
                "",
                f"{count} follow-on error(s) about ids that may be defined here were left out, because "
                f"{'this file could not be read' if source in out.unparsed else 'an intent here is invalid'}; "
                "fix the errors in this file and run the check again",
                "warning",
            )
        )
    for lang, place in out.tone_languages.items():
        if languages and lang not in languages:
            out.warning(place, f"language '{lang}' is not in settings.languages ({', '.join(languages)})")

    if any(p.is_error for p in out.problems):
        return None
    return Content(
        intents=tuple(_intent(model, place) for model, place in out.intents),
        messages=MappingProxyType(messages),
        variables=MappingProxyType({name: _frozen_variable(value) for name, value in variables.items()}),
        tone=ToneLexicon(
            anger=MappingProxyType(
                {
                    lang: MappingProxyType({phrase: weight for phrase, (weight, _) in phrases.items()})
                    for lang, phrases in out.anger.items()
                }
            ),
            handoff=MappingProxyType({lang: tuple(phrases) for lang, phrases in out.handoff.items()}),
        ),
        settings=settings,
        tests=tuple(
            TestCase(text=case.text, expect=case.expect, language=case.language, source=_source(place))
            for case, place in out.tests
        ),
        fingerprint=fingerprint,
    )


def _settings(out: _Folder) -> Settings:
    values = {name: value for name, (value, _) in out.settings.items()}
    if "languages" in values:
        values["languages"] = tuple(values["languages"])  # type: ignore[arg-type]
    return Settings(**values)  # type: ignore[arg-type]


def _check_texts(
    out: _Folder,
    place: _Placed,
    field_name: str,
    texts: Mapping[str, Sequence[str]],
    allowed: set[str] | None,
) -> None:
    """Empty texts, and (when ``allowed`` is given) placeholders that nobody supplies."""
    for lang, items in texts.items():
        for index, text in enumerate(items):
            loc = (*place.loc, field_name, lang, index)
            if not text.strip():
                out.error(place, "is empty; write a text or remove the line", loc)
            elif allowed is not None:
                _check_placeholders(out, place, loc, text, allowed)


def _check_placeholders(out: _Folder, place: _Placed, loc: Loc, text: str, allowed: set[str]) -> None:
    try:
        names = placeholders(text)
    except TemplateSyntaxError as exc:
        out.error(place, str(exc), loc)
        return
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
            if close:
                hint = f"; did you mean ${close[0]}?"
            elif len(allowed) <= 12:
                hint = f" (available: {', '.join('$' + n for n in sorted(allowed))})"
            else:
                hint = f"; define it under 'variables:' (the bot supplies {', '.join(sorted(RUNTIME_VARIABLES))})"
            out.error(
                place,
                f"uses ${name}, which is neither defined under 'variables:' nor supplied by the bot{hint}",
                loc,
            )


def _check_intents(out: _Folder, languages: Sequence[Lang], answer_names: set[str]) -> None:
    seen: dict[str, _Placed] = {}
    for intent, place in out.intents:
        first = seen.get(intent.id)
        if first is not None:
            out.error(
                place,
                f"the intent id '{intent.id}' is defined twice: here and at {first.place}; ids must be unique",
                (*place.loc, "id"),
            )
        else:
            seen[intent.id] = place
    _check_shared_examples(out)
    for intent, place in out.intents:
        for lang in languages:
            if "answers" not in place.broken and not intent.answers.get(lang):
                out.error(
                    place,
                    f"has no answer in '{lang}'; every language in settings needs one",
                    _at(place, "answers"),
                )
            if "examples" not in place.broken and not intent.examples.get(lang):
                out.warning(
                    place,
                    f"has no examples in '{lang}', so customers writing in '{lang}' only reach it by luck",
                    _at(place, "examples"),
                )
            if "title" not in place.broken and not intent.title.get(lang):
                out.warning(
                    place, f"has no title in '{lang}'; buttons show the id instead", _at(place, "title")
                )
        for field_name, texts in (("examples", intent.examples), ("answers", intent.answers)):
            for lang in texts:
                if languages and lang not in languages:
                    out.warning(
                        place,
                        f"language '{lang}' is not in settings.languages ({', '.join(languages)})",
                        (*place.loc, field_name, lang),
                    )
        _check_texts(out, place, "answers", intent.answers, answer_names)
        _check_texts(out, place, "examples", intent.examples, None)
        _check_texts(out, place, "not_examples", intent.not_examples, None)
        for index, target in enumerate(intent.follow_up):
            if out.unknown_id(target):
                out.error(
                    place,
                    f"follow_up '{target}' is not the id of any intent{_did_you_mean(target, out.claimed_ids)}",
                    (*place.loc, "follow_up", index),
                )


def _check_shared_examples(out: _Folder) -> None:
    """The same example (once case, umlauts and punctuation are ignored) in two enabled intents is warned
    about loudly: one sentence cannot mean two things, and the bot will ask "did you mean" between them.

    A warning, not an error, because the spec promises that every folder written to it loads, and it does
    not forbid this; ``intents check --strict`` makes it fail in CI."""
    first: dict[tuple[str, str], tuple[str, _Placed, int, str]] = {}
    for intent, place in out.intents:
        if not intent.enabled:
            continue
        for lang, items in intent.examples.items():
            for index, text in enumerate(items):
                key = (lang, normalize(text))
                if not key[1]:
                    continue
                seen = first.get(key)
                if seen is None:
                    first[key] = (intent.id, place, index, text)
                elif seen[0] != intent.id:
                    other_id, other_place, other_index, other_text = seen
                    line = other_place.file.line((*other_place.loc, "examples", lang, other_index))
                    same = "" if other_text == text else f" ('{other_text}')"
                    out.warning(
                        place,
                        f"'{text}' is also an example of {other_id}{same} at {other_place.file.path}:{line}; "
                        "one sentence cannot mean two things: keep it in the intent it belongs to (and put it "
                        "under the other's not_examples if they get confused)",
                        (*place.loc, "examples", lang, index),
                    )


def _at(place: _Placed, key: str) -> Loc:
    """The key's own line if it is written, else the intent's."""
    return (*place.loc, key)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _merge_messages(
    out: _Folder,
    defaults: dict[str, tuple[dict[str, str], _Placed]],
    languages: Sequence[Lang],
    variables: set[str],
    folder: str,
) -> dict[str, Mapping[Lang, str]]:
    """Defaults first, the folder's texts on top, per name and language; every catalogue name must end up
    with a text in the default language."""
    for source in (defaults, out.messages):
        for name, (texts, place) in source.items():
            if name not in MESSAGES:
                out.error(
                    place,
                    f"'{name}' is not a message the bot sends{_did_you_mean(name, MESSAGES)}; "
                    f"known messages: {', '.join(sorted(MESSAGES))}",
                )
                continue
            allowed = variables | MESSAGES[name].extra
            for lang, text in texts.items():
                loc = (*place.loc, lang)
                if not text.strip():
                    out.error(place, "is empty; write a text or remove the line", loc)
                _check_placeholders(out, place, loc, text, allowed)
    merged: dict[str, Mapping[Lang, str]] = {}
    for name in MESSAGES:
        texts = dict(defaults.get(name, ({}, None))[0])
        own, place = out.messages.get(name, ({}, _Placed(ParsedFile(folder), ("messages", name))))
        texts.update(own)
        for lang in languages:
            if texts.get(lang) or f"message.{name}" in out.broken:
                continue
            if lang == languages[0]:
                out.error(place, f"the message '{name}' has no text in '{lang}'; add it under 'messages:'")
            elif texts.get(languages[0]):
                out.warning(place, f"the message '{name}' has no text in '{lang}'; '{languages[0]}' is used")
        merged[name] = MappingProxyType(texts)
    return merged


def _check_tests(out: _Folder, languages: Sequence[Lang]) -> None:
    for case, place in out.tests:
        if not case.text.strip():
            out.error(place, "the test text is empty", (*place.loc, "text"))
        if case.expect not in TEST_OUTCOMES and out.unknown_id(case.expect):
            choices = set(out.claimed_ids) | set(TEST_OUTCOMES)
            out.error(
                place,
                f"expect '{case.expect}' must be an intent id, 'escalate' or 'not_understood'"
                f"{_did_you_mean(case.expect, choices)}",
                (*place.loc, "expect"),
            )
        if case.language is not None and languages and case.language not in languages:
            out.error(
                place,
                f"language '{case.language}' is not in settings.languages ({', '.join(languages)})",
                (*place.loc, "language"),
            )


# --- conversion to the core's frozen types --------------------------------------------------------------


def _sources(out: _Folder) -> dict[SourceKey, SourceRef]:
    sources: dict[SourceKey, SourceRef] = {}

    def put(key: SourceKey, place: _Placed, loc: Loc) -> None:
        sources.setdefault(key, SourceRef(place.file.path, place.file.line(loc)))

    for intent, place in out.intents:
        put(("intent", intent.id), place, place.loc)
        for name in ("examples", "answers", "not_examples"):
            by_language: dict[str, list[str]] = getattr(intent, name)
            for lang, items in by_language.items():
                for index in range(len(items)):
                    put(("intent", intent.id, name, lang, index), place, (*place.loc, name, lang, index))
    for variable, (_, place) in out.variables.items():
        put(("variable", variable), place, place.loc)
    for message, (texts, place) in out.messages.items():
        for lang in texts:
            put(("message", message, lang), place, (*place.loc, lang))
    for index, (_, place) in enumerate(out.tests):
        put(("test", index), place, place.loc)
    return sources


def _source(place: _Placed) -> SourceRef:
    return SourceRef(place.file.path, place.line)


def _per_language(texts: Mapping[str, Sequence[str]]) -> Mapping[Lang, tuple[str, ...]]:
    return MappingProxyType({lang: tuple(items) for lang, items in texts.items()})


def _intent(model: IntentModel, place: _Placed) -> Intent:
    return Intent(
        id=model.id,
        title=MappingProxyType(dict(model.title)),
        examples=_per_language(model.examples),
        answers=_per_language(model.answers),
        not_examples=_per_language(model.not_examples),
        min_score=model.min_score,
        follow_up=tuple(model.follow_up),
        escalate=model.escalate,
        enabled=model.enabled,
        tags=tuple(model.tags),
        source=_source(place),
        priority=Priority(model.priority) if model.priority else None,
    )


def _frozen_variable(value: str | dict[str, str]) -> Variable:
    return value if isinstance(value, str) else MappingProxyType(dict(value))
