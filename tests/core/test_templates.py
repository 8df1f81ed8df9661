"""``string.Template`` handling: placeholders found at load time, values never re-interpreted."""

from __future__ import annotations

import pytest

from bot.core.templates import TemplateSyntaxError, placeholders, render


def test_placeholders_in_order_of_first_use_both_syntaxes() -> None:
    assert placeholders("Hallo $customer_name, Vorgang ${ticket_id}: $customer_name") == [
        "customer_name",
        "ticket_id",
    ]


def test_double_dollar_is_a_dollar_sign_not_a_placeholder() -> None:
    assert placeholders("costs $$5 per month") == []
    assert render("costs $$5 per month", {}) == "costs $5 per month"


@pytest.mark.parametrize("text", ["price: $5", "trailing $", "${unclosed"])
def test_stray_dollar_is_a_clear_error(text: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=r"\$\$"):
        placeholders(text)


def test_values_are_inserted_once_and_never_interpreted() -> None:
    assert render(
        "Hi $customer_name, your ticket is $ticket_id",
        {"customer_name": "$ticket_id ${eta}", "ticket_id": "7"},
    ) == ("Hi $ticket_id ${eta}, your ticket is 7")


def test_unknown_name_at_runtime_stays_visible_instead_of_crashing() -> None:
    assert render("Hello $nobody", {}) == "Hello $nobody"


def test_emoji_and_umlauts_pass_through() -> None:
    assert render("Grüße 👋 $customer_name", {"customer_name": "Jürgen 🚀"}) == "Grüße 👋 Jürgen 🚀"
