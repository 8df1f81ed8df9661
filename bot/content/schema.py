"""The editors' file format (``shared/spec/intents-format.md``) as pydantic models.

One model per file: files are validated one by one so that every problem keeps its file and line, and merged
afterwards by :mod:`bot.content.loader`, which also does the checks that need the whole folder. The same
models generate ``intents.schema.json``, so an editor's YAML plugin and the loader can never disagree.

Inputs come from :mod:`bot.content.yamlio`, where every unquoted value is still text. The validators here
decide, per field, whether that text may be a number or a boolean, and reject YAML 1.1's silent conversions
(``no`` -> false, ``0123`` -> 83) wherever a text is wanted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from bot.content.yamlio import PlainScalar
from bot.core.model import Settings

ID_PATTERN = r"^[a-z0-9_]+$"
LANG_PATTERN = r"^[a-z]{2}$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
TOP_LEVEL_KEYS = ("intents", "messages", "variables", "tone", "settings", "tests")
SCHEMA_ID = "https://github.com/carebot/carebot/bot/content/intents.schema.json"


def yaml11_value(text: str) -> object:
    """What PyYAML (YAML 1.1) would have made of an unquoted text."""
    return yaml.safe_load(text)


def surprise(value: PlainScalar) -> str | None:
    """Why an unquoted value would not survive as the text the editor typed, or ``None`` if it would."""
    if value.implicit == "bool":
        return f"is the YAML boolean '{value}'; put it in quotes (\"{value}\") if you mean the word"
    if value.implicit in ("int", "float", "timestamp"):
        converted = yaml11_value(value)
        if str(converted) != str(value):
            return (
                f"'{value}' is read by YAML as the {value.implicit.replace('int', 'number')} "
                f'{converted}, not as the text; put it in quotes ("{value}")'
            )
    return None


def _text(value: object) -> object:
    if isinstance(value, PlainScalar):
        problem = surprise(value)
        if problem:
            raise ValueError(problem)
        return str(value)
    if value is None:
        raise ValueError("is empty; write a text (or remove the line)")
    if isinstance(value, dict):
        raise ValueError(
            "must be a text but was read as 'key: value'; if the text contains ': ' put it in quotes"
        )
    if isinstance(value, list):
        raise ValueError("must be a single text, not a list")
    return value


def _pattern(pattern: str, explain: str) -> Callable[[object], object]:
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        text = _text(value)
        if isinstance(text, str) and not compiled.match(text):
            raise ValueError(f"'{text}' {explain}")
        return text

    return check


def _number(value: object) -> object:
    if isinstance(value, PlainScalar):
        if value.implicit not in ("int", "float"):
            raise ValueError(f"must be a number such as 80, not '{value}'")
        converted = yaml11_value(value)
        if str(converted) != str(value) and not re.fullmatch(r"[-+]?[0-9]+\.[0-9]*0", value):
            if re.fullmatch(r"[-+]?0[0-9_]+", value):
                raise ValueError(
                    f"'{value}' starts with 0, which YAML reads as an octal number ({converted}); "
                    f"write it without the leading 0"
                )
            raise ValueError(f"'{value}' is read by YAML as {converted}; write a plain number such as 80")
        return converted
    if isinstance(value, str):
        raise ValueError(f'must be a number without quotes (write {value} instead of "{value}")')
    if value is None:
        raise ValueError("is empty; write a number or remove the line")
    return value


def _integer(value: object) -> object:
    number = _number(value)
    if isinstance(number, float):
        raise ValueError(f"must be a whole number, not {number}")
    return number


def _boolean(value: object) -> object:
    if isinstance(value, PlainScalar) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, PlainScalar) and value.implicit == "bool":
        raise ValueError(f"must be true or false (write true or false instead of '{value}')")
    raise ValueError(f"must be true or false, not {value!r}")


def _optional(check: Callable[[object], object]) -> Callable[[object], object]:
    return lambda value: None if value is None else check(value)


def _variable(value: object) -> object:
    """A variable is one text for all languages or a ``{language: text}`` mapping."""
    if isinstance(value, dict):
        return {_language(key): _text(text) for key, text in value.items()}
    return _text(value)


_language = _pattern(LANG_PATTERN, "is not a language code; use two lowercase letters such as de or en")

Text = Annotated[str, BeforeValidator(_text)]
_ID_CHECK = _pattern(
    ID_PATTERN, "is not a valid id: use only lowercase letters a-z, digits and '_', e.g. invoice_copy"
)
_VARIABLE_CHECK = _pattern(
    VARIABLE_PATTERN, "is not a valid variable name: use letters, digits and '_', not starting with a digit"
)
# The constraint comes first so that it shows in the JSON Schema; the validator runs first and explains.
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN), BeforeValidator(_ID_CHECK)]
Lang = Annotated[str, StringConstraints(pattern=LANG_PATTERN), BeforeValidator(_language)]
VariableName = Annotated[str, StringConstraints(pattern=VARIABLE_PATTERN), BeforeValidator(_VARIABLE_CHECK)]
Score = Annotated[float, Field(ge=0, le=100), BeforeValidator(_number)]
Fraction = Annotated[float, Field(ge=0, le=1), BeforeValidator(_number)]
OptionalScore = Annotated[
    float | None,
    Field(ge=0, le=100),
    BeforeValidator(_optional(_number)),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 100}, {"type": "null"}]}),
]
Weight = Annotated[float, Field(gt=0, le=100), BeforeValidator(_number)]
Count = Annotated[int, Field(ge=0), BeforeValidator(_integer)]
Minutes = Annotated[float, Field(ge=0), BeforeValidator(_number)]
Bool = Annotated[bool, BeforeValidator(_boolean)]
OptionalLang = Annotated[str | None, BeforeValidator(_optional(_language))]
VariableValue = Annotated[str | dict[str, str], BeforeValidator(_variable)]
PerLanguage = dict[Lang, list[Text]]
Messages = dict[Id, dict[Lang, Text]]
Variables = dict[VariableName, VariableValue]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntentModel(_Strict):
    """One thing customers ask, with how they ask it and what the bot answers."""

    id: Id = Field(description="Unique name, lowercase letters, digits and _ (invoice_copy).")
    title: dict[Lang, Text] = Field(description="Per language: the label on 'did you mean' buttons.")
    examples: PerLanguage = Field(description="Per language: how customers ask, one phrasing per line.")
    answers: PerLanguage = Field(description="Per language: the reply; one variation is picked at random.")
    not_examples: PerLanguage = Field(default_factory=dict, description="Messages that must NOT match.")
    min_score: OptionalScore = Field(default=None, description="This intent's own threshold (0-100).")
    follow_up: list[Id] = Field(default_factory=list, description="Intent ids offered as buttons afterwards.")
    escalate: Bool = Field(default=False, description="true: answer, then hand over to a human as well.")
    enabled: Bool = Field(default=True, description="false: the bot ignores this intent.")
    tags: list[Text] = Field(default_factory=list, description="Free labels for editors.")
    priority: Literal["urgent", "high", "normal", "low"] | None = Field(
        default=None,
        description="Project field: ticket priority when this intent hands over (escalate: true); "
        "anger can still raise it.",
    )


_DEFAULTS = Settings()


class SettingsModel(_Strict):
    languages: list[Lang] = Field(
        default=list(_DEFAULTS.languages),
        min_length=1,
        description="Supported languages; the first is the default.",
    )
    min_score: Score = Field(default=_DEFAULTS.min_score, description="Default intent threshold (0-100).")
    ambiguity_margin: Score = Field(
        default=_DEFAULTS.ambiguity_margin,
        description="Top two intents closer than this: ask 'did you mean' instead of guessing.",
    )
    max_misses: Count = Field(
        default=_DEFAULTS.max_misses, description="Consecutive unmatched messages before a human takes over."
    )
    anger_threshold: Score = Field(
        default=_DEFAULTS.anger_threshold, description="Anger score (0-100) that escalates at once."
    )
    handoff_ack_quiet_minutes: Minutes = Field(
        default=_DEFAULTS.handoff_ack_quiet_minutes,
        description="While a human has the ticket, 'handoff_ack' is sent at most once per this many minutes.",
    )
    max_clarifications: Count = Field(
        default=_DEFAULTS.max_clarifications,
        description="Clarifying questions in a row before an ambiguous conversation goes to a human.",
    )
    suggest_band: Score = Field(
        default=_DEFAULTS.suggest_band,
        description="A message missing every threshold by less than this gets 'did you mean' (still a miss).",
    )
    suggest_min_score: Score = Field(
        default=_DEFAULTS.suggest_min_score,
        description="Whatever suggest_band says, a candidate scoring below this is never offered in 'did you mean'.",
    )
    lead_ratio: Fraction = Field(
        default=_DEFAULTS.lead_ratio,
        description="Answer the best intent below its threshold when the runner-up scores at most this "
        "fraction of its score (0: never).",
    )
    lead_min_score: Score = Field(
        default=_DEFAULTS.lead_min_score, description="The lowest score the lead_ratio rule answers at."
    )


class ToneModel(_Strict):
    anger: dict[Lang, dict[Text, Weight]] = Field(
        default_factory=dict, description="Per language: phrase -> weight (1-3 is usual)."
    )
    handoff: PerLanguage = Field(
        default_factory=dict, description="Per language: phrases asking for a human."
    )


class TestModel(_Strict):
    __test__ = False  # not a pytest class

    text: Text
    language: OptionalLang = None
    expect: Id = Field(description="An intent id, 'escalate' or 'not_understood'.")


class FileModel(_Strict):
    """One YAML file of the intents folder; every key is optional and may appear in several files."""

    model_config = ConfigDict(
        extra="forbid",
        title="carebot intents file",
        json_schema_extra={"$id": SCHEMA_ID, "$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    intents: list[IntentModel] = Field(default_factory=list)
    messages: Messages = Field(
        default_factory=dict, description="Message name -> language -> text; overrides the shipped defaults."
    )
    variables: Variables = Field(
        default_factory=dict, description="Name -> text, or -> {language: text}; used as $name."
    )
    tone: ToneModel = Field(default_factory=ToneModel)
    settings: SettingsModel = Field(default_factory=SettingsModel)
    tests: list[TestModel] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    return FileModel.model_json_schema()


def json_schema_text() -> str:
    """The exact text committed as ``intents.schema.json`` (a test keeps the two equal)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
