"""The renderer: language fallback, honest wait estimates, buttons, agent replies."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.content.loader import load_folder
from bot.core.model import Content
from bot.core.render import Renderer

INTENTS = Path(__file__).resolve().parents[1] / "service" / "intents"


@pytest.fixture
def content() -> Content:
    return load_folder(INTENTS).content


@pytest.fixture
def renderer(content: Content) -> Renderer:
    return Renderer(content, random.Random(0))


def test_unsupported_language_falls_back_to_the_default(renderer: Renderer) -> None:
    assert renderer.language("fr") == "de"
    assert renderer.language(None) == "de"
    assert renderer.language("en") == "en"


def test_answers_resolve_per_language_variables(renderer: Renderer, content: Content) -> None:
    intent = content.intent("tariff_cancel")
    assert intent is not None
    assert renderer.answer(intent, "de").endswith("Hotline: 0800 123 456")
    assert renderer.answer(intent, "en").endswith("Hotline: +49 800 123 456")


def test_eta_is_honest_about_missing_data(renderer: Renderer, content: Content) -> None:
    assert renderer.eta(None, "en") == renderer.message("eta_unknown", "en")
    assert renderer.eta(0.2, "en") == renderer.message(
        "eta_minutes", "en", {"minutes": "2"}
    )  # never "1 minutes"
    assert "25" in renderer.eta(25, "en")
    assert "3" in renderer.eta(180, "en")
    assert renderer.eta(180, "en") == renderer.message("eta_hours", "en", {"hours": "3"})


def test_rating_buttons_carry_the_ticket(renderer: Renderer) -> None:
    assert [b.payload for b in renderer.rating_buttons(12)] == [f"rate:12:{n}" for n in range(1, 6)]
    assert [b.label for b in renderer.rating_buttons(12)] == ["1", "2", "3", "4", "5"]


def test_agent_reply_keeps_customer_visible_text_literal(renderer: Renderer) -> None:
    text = renderer.agent_reply("anna", "Kosten: $eta und $$", "de")
    assert "anna" in text and "Kosten: $eta und $$" in text


def test_human_and_none_buttons(renderer: Renderer) -> None:
    assert renderer.human_button("en").payload == "human"
    assert renderer.none_button("de").payload == "none"
