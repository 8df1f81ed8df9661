"""Strict YAML reading for editors' files.

PyYAML implements YAML 1.1, which silently turns ``no`` into ``False``, ``0123`` into 83 and ``8:30`` into
510. An editor who writes ``answer: no`` means the word. So this module composes the YAML node tree and
converts it itself: every plain scalar stays the text the editor typed (a :class:`PlainScalar` that remembers
what YAML 1.1 would have made of it), and the schema decides where a number or a boolean is wanted. Every key
and list item keeps its line, so each problem can name one; duplicate keys are errors rather than "last one
wins"; and the parser's own errors are translated into advice an editor can follow.

Editors' files are data, not programs: anchors (``&name``) and aliases (``*name``) are refused while the
node tree is composed, before anything is expanded, so a "billion laughs" file of nested aliases fails in
milliseconds with its line instead of expanding into gigabytes. Nesting deeper than :data:`MAX_DEPTH` is
refused the same way (no ``RecursionError``); the loader limits a file's size (:data:`MAX_FILE_BYTES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, Event, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.content.problems import Problem

Loc = tuple[str | int, ...]
"""A position in a file's data: keys and list indices from the top, as pydantic reports them."""

MAX_DEPTH = 50
"""Deepest nesting of lists and mappings in an editor's file; the shipped files use 6."""
MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest YAML file the loader reads; the biggest shipped file is about 40 kB."""

_TAG = "tag:yaml.org,2002:"
_IMPLICIT = {"bool", "int", "float", "timestamp"}


class PlainScalar(str):
    """An unquoted scalar, kept as written; ``implicit`` says what YAML 1.1 would have turned it into."""

    implicit: str
    """``str``, ``bool``, ``int``, ``float`` or ``timestamp``."""

    def __new__(cls, text: str, implicit: str = "str") -> PlainScalar:
        self = super().__new__(cls, text)
        self.implicit = implicit
        return self


@dataclass(slots=True)
class ParsedFile:
    path: str
    data: object = None
    lines: dict[Loc, int] = field(default_factory=dict)
    """Line (1-based) of every mapping key and list item."""
    problems: list[Problem] = field(default_factory=list)

    def line(self, loc: Loc) -> int:
        """The line of ``loc`` or of its nearest ancestor that has one (a missing key: its mapping)."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(tuple(loc[:end]))
            if found is not None:
                return found
        return 1


class Refused(Exception):
    """The file uses something editors' files may not (an anchor, an alias, too deep a nesting)."""

    def __init__(self, what: str, line: int) -> None:
        super().__init__(what)
        self.what = what
        self.line = line


def _line(event: Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


_TOO_DEEP = (
    f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; "
    "an intents file needs far fewer (is a bracket or an indentation wrong?)"
)


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that builds plain Python data with line numbers instead of constructing objects."""

    def __init__(self, text: str, parsed: ParsedFile) -> None:
        super().__init__(text)
        self.parsed = parsed
        self._active: set[int] = set()
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """PyYAML's composer, refusing anchors, aliases and deep nesting before they cost anything."""
        event: Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            raise Refused(
                f"YAML aliases ('*{event.anchor}') are not supported in editors' files: if '*{event.anchor}' "
                "is meant as text, put it in quotes; otherwise write the text out where it is needed",
                _line(event),
            )
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise Refused(
                f"YAML anchors ('&{event.anchor}') are not supported in editors' files; "
                "remove the '&' name and write the text out where it is needed",
                _line(event),
            )
        if isinstance(event, CollectionStartEvent):
            if self._depth >= MAX_DEPTH:
                raise Refused(_TOO_DEEP, _line(event))
            self._depth += 1
            try:
                node: Node | None = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            return node
        scalar: Node | None = super().compose_node(parent, index)
        return scalar

    def fetch_flow_collection_start(self, TokenClass: type) -> None:
        """The scanner reads a whole line of ``[[[[…`` before the composer sees any of it; count here, so a
        file of five million brackets fails at the 51st, not after minutes of scanning."""
        if self.flow_level >= MAX_DEPTH:
            raise Refused(_TOO_DEEP, self.line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def located_data(self) -> object:
        node = self.get_single_node()
        return None if node is None else self.convert(node, ())

    def _problem(self, node: Node, loc: Loc, what: str) -> None:
        self.parsed.problems.append(Problem(self.parsed.path, node.start_mark.line + 1, where_of(loc), what))

    def convert(self, node: Node, loc: Loc) -> object:
        self.parsed.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._active:
            self._problem(node, loc, "an alias refers to itself; remove the '*' reference")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, loc)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, loc)
            if isinstance(node, MappingNode):
                return self._mapping(node, loc)
        finally:
            self._active.discard(id(node))
        raise AssertionError(f"unknown YAML node {node!r}")  # pragma: no cover - PyYAML has only three

    def _scalar(self, node: ScalarNode, loc: Loc) -> object:
        value: str = node.value
        tag: str = node.tag
        if tag == _TAG + "str":
            return value
        kind = tag.removeprefix(_TAG)
        if node.style is None and kind == "null":
            return None
        if node.style is None and kind in _IMPLICIT:
            return PlainScalar(value, kind)
        self._problem(node, loc, f"the YAML tag {tag!r} is not supported here; remove it (write plain text)")
        return value

    def _sequence(self, node: SequenceNode, loc: Loc) -> list[object]:
        items: list[object] = []
        for index, item in enumerate(node.value):
            item_loc = (*loc, index)
            if node.flow_style and isinstance(item, MappingNode) and not self._starts_with(item, "{"):
                self._problem(
                    item,
                    item_loc,
                    "this item of a [...] list was read as 'key: value' because of a ':' or '?' in it; "
                    "write one item per line ('- text') or put the text in quotes",
                )
            items.append(self.convert(item, item_loc))
        return items

    @staticmethod
    def _starts_with(node: Node, char: str) -> bool:
        mark = node.start_mark
        buffer = getattr(mark, "buffer", None)
        return isinstance(buffer, str) and buffer[mark.pointer : mark.pointer + 1] == char

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[object, object]:
        result: dict[object, object] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _TAG + "merge":
                self._problem(key_node, loc, "YAML merge keys ('<<') are not supported; write the keys out")
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, loc, "a key must be a plain word, not a list or mapping")
                continue
            key = self._scalar(key_node, loc)
            if key is None:
                self._problem(key_node, loc, "a key is empty; write a name before the ':'")
                continue
            assert isinstance(key, str)
            text = str(key)
            if text in seen:
                self._problem(
                    key_node,
                    (*loc, text),
                    f"the key '{text}' appears twice in this mapping (lines {seen[text]} and {line}); "
                    "YAML would silently keep only the last one, so remove or rename one of them",
                )
                continue
            seen[text] = line
            self.parsed.lines[(*loc, text)] = line
            result[key] = self.convert(value_node, (*loc, text))
        return result


def where_of(loc: Loc, data: object = None) -> str:
    """``intents[3] invoice_copy.answers.en[0]``: the path an editor can follow, with the intent's id."""
    text = ""
    node: object = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                text += f" {node['id']}"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def parse_text(text: str, path: str) -> ParsedFile:
    """Parse one file's text; syntax errors become problems rather than exceptions."""
    parsed = ParsedFile(path)
    loader = StrictLoader(text, parsed)
    try:
        parsed.data = loader.located_data()
    except Refused as refused:
        parsed.problems.append(Problem(path, refused.line, "(yaml)", refused.what))
        parsed.data = None
    except yaml.MarkedYAMLError as exc:
        parsed.problems.append(_syntax_problem(exc, path))
        parsed.data = None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks all parser errors
        parsed.problems.append(Problem(path, 1, "(yaml)", str(exc)))
        parsed.data = None
    finally:
        loader.dispose()
    return parsed


def parse_bytes(raw: bytes, path: str) -> ParsedFile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return ParsedFile(
            path,
            problems=[Problem(path, line, "(file)", "is not UTF-8 text; save it as UTF-8 in your editor")],
        )
    return parse_text(text, path)


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    unclosed = "quoted scalar" in (exc.context or "") or "<stream end>" in (exc.problem or "")
    if unclosed and exc.context_mark is not None:
        mark = exc.context_mark  # where the unclosed quote or bracket opens, not the end of the file
    line = mark.line + 1 if mark is not None else 1
    return Problem(path, line, "(yaml)", explain_syntax_error(exc))


def explain_syntax_error(exc: yaml.MarkedYAMLError) -> str:
    """Turn the parser's words into what to do; the original message is kept at the end for experts."""
    problem = exc.problem or ""
    context = exc.context or ""
    original = f"{context}: {problem}".strip(": ")
    if "but got '?'" in problem:
        advice = (
            "a '?' inside a [...] list or {...} mapping is not allowed by the YAML parser; write one "
            "example per line ('- Wo ist meine Rechnung?') or put the text in quotes"
        )
    elif "mapping values are not allowed" in problem:
        advice = "a text contains ': ' (colon and space); put the whole text in quotes"
    elif "found character '\\t'" in problem or "found character '\t'" in problem:
        advice = "a tab character is used; indent with spaces only"
    elif "cannot start any token" in problem:
        advice = "a text starts with a character YAML reserves (such as @ or `); put the text in quotes"
    elif "unexpected end of stream" in problem and "quoted" in context:
        advice = "a quote is opened but never closed"
    elif "expected <block end>" in problem or "expected <block mapping start>" in problem:
        advice = "the indentation does not line up with the lines above; check the spaces at the line start"
    elif "could not find expected ':'" in problem:
        advice = "a line is missing its ':' after the key, or a long text continues without quotes"
    elif "<stream end>" in problem:
        advice = "the file ends in the middle of a list or mapping: a '[' or '{' is not closed"
    elif "expected ',' or ']'" in problem:
        advice = "a [...] list is not closed with ']' or an item contains a special character; quote it"
    elif "expected ',' or '}'" in problem:
        advice = "a {...} mapping is not closed with '}' or a text contains a special character; quote it"
    elif "found undefined alias" in problem or "found undefined anchor" in problem:
        advice = "a text starts with '*' or '&', which YAML reserves; put the text in quotes"
    elif "expected a single document" in original:
        advice = "a file holds one document; remove the second '---' line"
    else:
        return f"invalid YAML: {original}"
    return f"{advice} (parser: {original})"


# --- writing ----------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Writes YAML the way the shipped files look, and that this module reads back to the same texts.

    Lists are block lists (one item per line, where a ``?`` is harmless), indented below their key; a small
    mapping of short texts (``title: {de: ..., en: ...}``) stays on one line. PyYAML quotes every text that a
    YAML 1.1 reader would turn into something else (``no``, ``0123``, ``8:30``).
    """

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = bool(data) and all(isinstance(v, str) and len(v) < 40 for v in data.values()) and "id" not in data
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(data: object, indent: int = 0) -> str:
    """``data`` as editor-style YAML, every line indented by ``indent`` spaces (for pasting into a list)."""
    text = yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000
    )
    if indent:
        text = "".join(
            " " * indent + line if line.strip() else line for line in text.splitlines(keepends=True)
        )
    return text
