"""Turns message names and intent answers into text in the customer's language.

Lives in the service layer (not the core) because picking a random variation and resolving variables is
policy-free plumbing shared by the conversation engine, staff actions and every channel.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from bot.core.agents import agent_display
from bot.core.model import Content, Intent, Lang
from bot.core.templates import render
from bot.messages import Button

_NAMELESS = "\x00"
_NAMELESS_SPACE = re.compile(r"[ \t]*\x00(?=[!,.?:;])|\x00[ \t]?")


def _without_empty_name(text: str, values: Mapping[str, str]) -> str:
    """A customer without a name (a web visitor) is greeted "Hallo!", not "Hallo !"."""
    if values.get("customer_name", "x").strip():
        return render(text, values)
    return _NAMELESS_SPACE.sub("", render(text, {**values, "customer_name": _NAMELESS}))


class Renderer:
    def __init__(self, content: Content, rng: random.Random | None = None) -> None:
        self.content = content
        self._rng = rng or random.Random()
        self._variables = {lang: content.variables_for(lang) for lang in content.settings.languages}

    def language(self, language: Lang | None) -> Lang:
        """``language`` if the folder supports it, else the folder's default."""
        settings = self.content.settings
        return language if language in settings.languages else settings.default_language

    def _values(self, language: Lang, values: Mapping[str, str]) -> dict[str, str]:
        merged = dict(self._variables.get(language) or self.content.variables_for(language))
        merged["language"] = language
        merged.update(values)
        return merged

    def message(self, name: str, language: Lang | None, values: Mapping[str, str] | None = None) -> str:
        lang = self.language(language)
        texts = self.content.messages[name]
        text = texts.get(lang) or texts[self.content.settings.default_language]
        return _without_empty_name(text, self._values(lang, values or {}))

    def answer(self, intent: Intent, language: Lang | None, values: Mapping[str, str] | None = None) -> str:
        lang = self.language(language)
        variations = intent.answers.get(lang) or intent.answers[self.content.settings.default_language]
        return _without_empty_name(self._rng.choice(variations), self._values(lang, values or {}))

    def title(self, intent: Intent, language: Lang | None) -> str:
        lang = self.language(language)
        return intent.title.get(lang) or intent.title.get(self.content.settings.default_language) or intent.id

    def eta(self, minutes: float | None, language: Lang | None) -> str:
        """Honest wait text: minutes or hours when there is data, ``eta_unknown`` when there is none."""
        if minutes is None:
            return self.message("eta_unknown", language)
        if minutes < 90:
            # Never "1 minutes", and an estimate is never that precise anyway.
            return self.message("eta_minutes", language, {"minutes": str(max(2, round(minutes)))})
        return self.message("eta_hours", language, {"hours": str(max(2, round(minutes / 60)))})

    def human_button(self, language: Lang | None) -> Button:
        return Button(self.message("button_human", language), "human")

    def none_button(self, language: Lang | None) -> Button:
        return Button(self.message("button_none", language), "none")

    def withdraw_button(self, language: Lang | None, ticket_id: int | None = None) -> Button:
        """Under the hand-over message: the customer can let the team go ("never mind").

        The payload names the ticket (``withdraw:<id>``): buttons stay pressable on old messages, and an old
        hand-over's button must never withdraw a later ticket."""
        payload = "withdraw" if ticket_id is None else f"withdraw:{ticket_id}"
        return Button(self.message("button_withdraw", language), payload)

    def rating_buttons(self, ticket_id: int) -> tuple[Button, ...]:
        return tuple(Button(str(n), f"rate:{ticket_id}:{n}") for n in range(1, 6))

    def agent_reply(self, agent: str, text: str, language: Lang | None) -> str:
        """The agent's words for the customer, signed with their display name (never their platform id)."""
        return self.message("agent_reply", language, {"agent": agent_display(agent), "text": text})
