"""Spelling repair: which words are replaced, by what, and which never are."""

from __future__ import annotations

import pytest

from bot.core.spelling import SpellingRepair

EXAMPLES = [
    "How do I cancel my contract?",
    "cancel the contract please",
    "where is my invoice",
    "my invoice is wrong",
    "I want to receive my card",
    "change my address",
    "contact support",
]


@pytest.fixture(scope="module")
def repair() -> SpellingRepair:
    return SpellingRepair(EXAMPLES)


@pytest.mark.parametrize(
    ("written", "repaired"),
    [
        ("cancle", "cancel"),  # neighbours swapped
        ("contrakt", "contract"),  # a letter replaced
        ("invoce", "invoice"),  # a letter dropped
        ("adddress", "address"),  # a letter doubled
        ("adress", "address"),
        ("recieve", "receive"),
    ],
)
def test_one_edit_from_an_example_word_is_repaired(
    repair: SpellingRepair, written: str, repaired: str
) -> None:
    assert repair.suggestion(written) == repaired


@pytest.mark.parametrize("word", ["plastic", "cancellation", "xyzzyq"])
def test_words_without_a_near_example_word_stay(repair: SpellingRepair, word: str) -> None:
    assert repair.suggestion(word) is None


def test_known_and_short_words_stay(repair: SpellingRepair) -> None:
    assert repair.suggestion("cancel") is None
    assert repair.suggestion("card") is None
    assert repair.suggestion("cart") is None  # one edit from "card", but 4 letters


def test_two_edits_are_too_many_even_when_the_words_share_a_deletion() -> None:
    # Without its first letter "sinvoice" is "invoice", and so is "invoices" without its last: the lookup
    # finds the pair, but they are two edits apart.
    repair = SpellingRepair(["invoices"])
    assert repair.suggestion("sinvoice") is None
    assert repair.suggestion("invoicess") == "invoices"


def test_the_word_the_examples_use_most_wins() -> None:
    repair = SpellingRepair(["bills", "bills", "bells"])
    assert repair.suggestion("bolls") == "bills"


def test_repair_keeps_everything_but_the_repaired_words(repair: SpellingRepair) -> None:
    assert repair.repair("Cancle my CONTRAKT, 2x!? 😀") == "cancel my contract, 2x!? 😀"
    assert repair.repairs("Cancle my CONTRAKT, card") == [("Cancle", "cancel"), ("CONTRAKT", "contract")]
    assert repair.repair("") == ""


def test_an_empty_vocabulary_repairs_nothing() -> None:
    assert SpellingRepair([]).repair("cancle my contrakt") == "cancle my contrakt"
