"""``string.Template`` rendering for answers and messages.

Editors write ``$name`` / ``${name}``; ``$$`` is a dollar sign. Placeholders are checked when the folder
loads (:func:`placeholders`), so rendering at run time cannot fail on a missing name. Values are substituted
once and never re-parsed, so a customer called ``$ticket_id`` stays literally ``$ticket_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

RUNTIME_VARIABLES: frozenset[str] = frozenset({"customer_name", "ticket_id", "eta", "language"})
"""Names the bot supplies at run time, besides the folder's ``variables``."""


class TemplateSyntaxError(ValueError):
    """A ``$`` that is neither ``$$`` nor a valid placeholder."""


def placeholders(text: str) -> list[str]:
    """Names used in ``text``, in order of first use; raises :class:`TemplateSyntaxError` on a stray ``$``."""
    template = Template(text)
    names: list[str] = []
    for match in template.pattern.finditer(text):
        if match.group("invalid") is not None:
            column = match.start("invalid")
            snippet = text[column : column + 12]
            raise TemplateSyntaxError(
                f"'$' at character {column + 1} ({snippet!r}) is not a placeholder; write $$ for a dollar sign"
            )
        name = match.group("named") or match.group("braced")
        if name and name not in names:
            names.append(name)
    return names


def render(text: str, values: Mapping[str, str]) -> str:
    """Substitute ``values``; an unknown name is left as written rather than crashing a live reply."""
    return Template(text).safe_substitute(values)
