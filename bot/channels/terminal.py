"""The terminal as a customer channel: the whole pipeline, no Telegram account needed.

Buttons are shown as numbered choices; typing the number presses the button. Agent replies written with
``python -m bot queue reply`` in another terminal arrive here through the same outbox as on Telegram.
"""

from __future__ import annotations

import itertools
import sys
import textwrap
from typing import TextIO

from bot.channels.base import Button, Inbound, Outbound

NAME = "terminal"


class TerminalChannel:
    name = NAME

    def __init__(self, out: TextIO | None = None, *, width: int = 100) -> None:
        self._out = out or sys.stdout
        self._width = width
        self._ids = itertools.count(1)
        self.choices: tuple[Button, ...] = ()
        """Buttons of the last message; their numbers are valid input."""
        self.prompt: str | None = None
        """Set while an interactive terminal waits for input: a message arriving then (an agent's reply)
        clears the prompt line, prints, and draws the prompt again instead of writing behind it."""

    async def send(self, user_id: str, message: Outbound) -> str | None:
        del user_id  # one customer per terminal
        if self.prompt is not None:
            self._out.write("\r\033[K")
        label = "team" if message.from_human else "bot"
        for paragraph in message.text.splitlines() or [""]:
            lines = textwrap.wrap(
                paragraph, self._width - 5, break_long_words=False, break_on_hyphens=False
            ) or [""]
            for line in lines:
                self._out.write(f"{label}> {line}\n")
        self.choices = message.buttons
        if message.buttons:
            for number, button in enumerate(message.buttons, start=1):
                self._out.write(f"     [{number}] {button.label}\n")
        if self.prompt is not None:
            self._out.write(self.prompt)
        self._out.flush()
        return str(next(self._ids))

    def notice(self, text: str) -> None:
        """A line from the program itself (not the bot), e.g. a reload: above the prompt, once."""
        if self.prompt is not None:
            self._out.write("\r\033[K")
        self._out.write(text.rstrip("\n") + "\n")
        if self.prompt is not None:
            self._out.write(self.prompt)
        self._out.flush()

    def inbound(
        self, line: str, *, user_id: str, display_name: str, language_hint: str | None
    ) -> Inbound | None:
        """Turn one typed line into an :class:`Inbound`; a bare number presses the matching button."""
        text = line.strip()
        if not text:
            return None
        payload = None
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            button = self.choices[int(text) - 1]
            text, payload = button.label, button.payload
        return Inbound(
            channel=NAME,
            user_id=user_id,
            display_name=display_name,
            language_hint=language_hint,
            text=text,
            payload=payload,
        )
