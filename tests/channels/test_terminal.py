"""The terminal channel: numbered buttons out, numbers back in as button presses."""

from __future__ import annotations

import io

from bot.channels.base import Button, Outbound
from bot.channels.terminal import TerminalChannel


async def test_buttons_are_numbered_and_a_number_presses_one() -> None:
    out = io.StringIO()
    channel = TerminalChannel(out)
    await channel.send(
        "me", Outbound("Meinten Sie …?", (Button("Rechnung", "intent:invoice"), Button("Keins", "none")))
    )
    assert out.getvalue().splitlines() == ["bot> Meinten Sie …?", "     [1] Rechnung", "     [2] Keins"]
    pressed = channel.inbound("2", user_id="me", display_name="Me", language_hint="de")
    assert pressed is not None and pressed.payload == "none" and pressed.text == "Keins"


async def test_numbers_without_buttons_and_blank_lines() -> None:
    channel = TerminalChannel(io.StringIO())
    await channel.send("me", Outbound("Hallo"))
    typed = channel.inbound("3", user_id="me", display_name="Me", language_hint=None)
    assert typed is not None and typed.payload is None and typed.text == "3"
    assert channel.inbound("   \n", user_id="me", display_name="Me", language_hint=None) is None


async def test_a_message_without_buttons_retires_the_old_choices() -> None:
    channel = TerminalChannel(io.StringIO())
    await channel.send("me", Outbound("Wählen Sie", (Button("A", "intent:a"),)))
    await channel.send("me", Outbound("Erledigt"))
    typed = channel.inbound("1", user_id="me", display_name="Me", language_hint=None)
    assert typed is not None and typed.payload is None


async def test_long_lines_wrap() -> None:
    out = io.StringIO()
    await TerminalChannel(out, width=40).send("me", Outbound("wort " * 30))
    assert all(len(line) <= 40 for line in out.getvalue().splitlines())


async def test_a_message_arriving_at_the_prompt_redraws_it() -> None:
    out = io.StringIO()
    channel = TerminalChannel(out)
    channel.prompt = "you> "
    await channel.send("me", Outbound("Anna aus dem Team schreibt: Hallo", from_human=True))
    assert out.getvalue() == "\r\033[Kteam> Anna aus dem Team schreibt: Hallo\nyou> "


async def test_the_bot_never_labels_a_humans_words_as_its_own() -> None:
    out = io.StringIO()
    channel = TerminalChannel(out)
    await channel.send("me", Outbound("Ich bin der automatische Assistent."))
    await channel.send("me", Outbound("Kim aus dem Team schreibt: Ich kümmere mich.", from_human=True))
    assert out.getvalue().splitlines() == [
        "bot> Ich bin der automatische Assistent.",
        "team> Kim aus dem Team schreibt: Ich kümmere mich.",
    ]
