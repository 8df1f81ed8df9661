"""The matcher on a small bilingual folder: typos, word order, umlauts, languages, not_examples, explanations."""

from __future__ import annotations

import pytest

from bot.core.matcher import IntentIndex
from bot.core.model import Intent, Settings

SETTINGS = Settings(languages=("de", "en"))


def _intent(intent_id: str, de: list[str], en: list[str], **extra: object) -> Intent:
    return Intent(
        id=intent_id,
        title={"de": intent_id, "en": intent_id},
        examples={"de": tuple(de), "en": tuple(en)},
        answers={"de": ("-",), "en": ("-",)},
        **extra,  # type: ignore[arg-type]
    )


INTENTS = [
    _intent(
        "invoice_copy",
        [
            "Wo finde ich meine Rechnung?",
            "Rechnung herunterladen",
            "Rechnungskopie bitte",
            "Rechnung als PDF",
        ],
        ["where is my invoice", "download my bill", "copy of my invoice please"],
        not_examples={"de": ("Meine Rechnung ist falsch",)},
    ),
    _intent(
        "invoice_wrong",
        ["Meine Rechnung ist falsch", "Rechnung stimmt nicht", "Mir wurde zu viel berechnet"],
        ["my bill is wrong", "I was overcharged", "the invoice amount is not correct"],
    ),
    _intent(
        "cancel_contract",
        ["Ich möchte kündigen", "Vertrag kündigen", "Kündigung meines Vertrags"],
        ["cancel my contract", "I want to cancel", "terminate my subscription"],
    ),
    _intent(
        "internet_down",
        ["Mein Internet geht nicht", "Kein Internet seit heute Morgen", "WLAN funktioniert nicht"],
        ["my internet is down", "no internet since this morning", "wifi not working"],
    ),
    _intent(
        "old_tariff",
        ["Alter Tarif Sommer Aktion"],
        ["old summer tariff promotion"],
        enabled=False,
    ),
]


@pytest.fixture(scope="module")
def index() -> IntentIndex:
    return IntentIndex.build(INTENTS, SETTINGS)


def test_exact_example_scores_near_100(index: IntentIndex) -> None:
    best = index.match("Wo finde ich meine Rechnung?", "de").best
    assert best is not None
    assert best.intent_id == "invoice_copy"
    assert best.example == "Wo finde ich meine Rechnung?"
    assert best.score >= 90


def test_typo_scores_high_and_names_the_example(index: IntentIndex) -> None:
    best = index.match("wo finde ich meine rechnug", "de").best
    assert best is not None
    assert (best.intent_id, best.example, best.language) == (
        "invoice_copy",
        "Wo finde ich meine Rechnung?",
        "de",
    )
    assert best.score >= 80


@pytest.mark.parametrize(
    "text", ["KÜNDIGUNG meines Vertrags", "kuendigung meines vertrags", "Kundigung meines Vertrags"]
)
def test_umlaut_spellings_and_typos(index: IntentIndex, text: str) -> None:
    best = index.match(text, "de").best
    assert best is not None and best.intent_id == "cancel_contract"
    assert best.score >= 75


def test_word_order(index: IntentIndex) -> None:
    best = index.match("herunterladen Rechnung", "de").best
    assert best is not None and best.intent_id == "invoice_copy"
    assert best.example == "Rechnung herunterladen"
    assert best.score >= 75


def test_unrelated_text_scores_low(index: IntentIndex) -> None:
    result = index.match("what's the weather on mars", "en")
    assert result.best is None or result.best.score < 50


def test_unrelated_text_scores_low_in_a_tiny_folder() -> None:
    """With three intents the model and the vote favour *some* intent for any message; the gate keeps an
    unrelated message low anyway, and explain says so."""
    tiny = IntentIndex.build(INTENTS[:3], SETTINGS)
    best = tiny.match("what's the weather on mars", "en").best
    assert best is None or best.score < 45
    assert "[best example below 60]" in tiny.explain("what's the weather on mars", "en")


def test_candidates_are_ranked_one_per_intent(index: IntentIndex) -> None:
    result = index.match("Rechnung", "de", limit=3)
    ids = [c.intent_id for c in result.candidates]
    assert len(ids) == len(set(ids)) <= 3
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    assert result.runner_up is not None


def test_limit(index: IntentIndex) -> None:
    assert len(index.match("Rechnung Vertrag Internet", "de", limit=1).candidates) == 1
    assert index.match("Rechnung", "de", limit=0).candidates == ()


def test_not_examples_block_their_intent(index: IntentIndex) -> None:
    result = index.match("meine Rechnung ist falsch", "de")
    assert "invoice_copy" in result.blocked
    assert all(c.intent_id != "invoice_copy" for c in result.candidates)
    assert result.best is not None and result.best.intent_id == "invoice_wrong"


def test_not_examples_do_not_block_other_messages(index: IntentIndex) -> None:
    result = index.match("Rechnung herunterladen", "de")
    assert result.blocked == ()
    assert result.best is not None and result.best.intent_id == "invoice_copy"


def test_disabled_intents_are_skipped(index: IntentIndex) -> None:
    assert "old_tariff" not in index.intent_ids
    result = index.match("old summer tariff promotion", "en")
    assert all(c.intent_id != "old_tariff" for c in result.candidates)


def test_language_prefers_its_own_examples(index: IntentIndex) -> None:
    best = index.match("where is my invoice", "en").best
    assert best is not None and (best.intent_id, best.language, best.example) == (
        "invoice_copy",
        "en",
        "where is my invoice",
    )
    de = index.match("Kein Internet seit heute Morgen", "de").best
    assert de is not None and de.language == "de"


def test_other_language_examples_still_count_discounted(index: IntentIndex) -> None:
    # A German conversation where the customer writes English: still understood, but scored below 100.
    best = index.match("where is my invoice", "de").best
    assert best is not None and best.intent_id == "invoice_copy" and best.language == "en"
    assert 75 <= best.score < 95
    assert "other language than the message" in index.explain("where is my invoice", "de")
    no_language = index.match("where is my invoice").best
    assert no_language is not None and no_language.score >= best.score


def test_explain_names_example_score_and_runner_up(index: IntentIndex) -> None:
    text = index.explain("wo finde ich meine rechnug", "de")
    result = index.match("wo finde ich meine rechnug", "de")
    assert result.best is not None and result.runner_up is not None
    assert "invoice_copy" in text and "'Wo finde ich meine Rechnung?'" in text
    assert f"{result.best.score:.1f}" in text
    assert result.runner_up.intent_id in text
    assert "margin to runner-up" in text


def test_explain_mentions_blocked_intents(index: IntentIndex) -> None:
    assert "blocked: invoice_copy" in index.explain("meine Rechnung ist falsch", "de")


@pytest.mark.parametrize("text", ["", "   ", "😀", "?!"])
def test_no_evidence_no_candidates(index: IntentIndex, text: str) -> None:
    assert index.match(text, "de").candidates == ()


def test_long_message_is_matched_on_its_beginning(index: IntentIndex) -> None:
    text = "Mein Internet geht nicht. " + "Bitte helfen Sie mir schnell. " * 400
    best = index.match(text, "de").best
    assert best is not None and best.intent_id == "internet_down"


def test_empty_folder() -> None:
    empty = IntentIndex.build([], SETTINGS)
    assert len(empty) == 0
    assert empty.match("Rechnung", "de").candidates == ()


def test_matching_is_deterministic(index: IntentIndex) -> None:
    assert index.match("rechnung falsch", "de") == index.match("rechnung falsch", "de")


def test_small_folder_typos_and_scale() -> None:
    """A realistic small folder: many intents with few examples each must still score typos high."""
    topics = [
        ("router", "Router blinkt rot", "router is blinking red"),
        ("password", "Passwort vergessen", "forgot my password"),
        ("moving", "Ich ziehe um", "I am moving house"),
        ("sim", "SIM Karte aktivieren", "activate my sim card"),
        ("roaming", "Roaming im Ausland", "roaming abroad"),
    ]
    intents = [_intent(i, [de, de + " bitte"], [en, en + " please"]) for i, de, en in topics] + INTENTS
    small = IntentIndex.build(intents, SETTINGS)
    for text, expected in [
        ("pasword vergesen", "password"),
        ("sim karte aktiviren", "sim"),
        ("forgot my pasword", "password"),
        ("roter router blinkt", "router"),
    ]:
        best = small.match(text).best
        assert best is not None and best.intent_id == expected, small.explain(text)
        assert best.score >= 70, small.explain(text)


def test_word_features_are_taken_on_stems() -> None:
    """Inflected forms share their word features ("Rechnungen" ~ "Rechnung", "charged" ~ "charges")."""
    from bot.core.matching_stem import stem

    assert stem("rechnungen") == stem("rechnung") == "rechn"
    assert stem("charged") == stem("charges") == "charg"
    assert stem("card") == "card"  # at least three letters stay
    index = IntentIndex.build(INTENTS, SETTINGS)
    counts = index._vectorizer.features("rechnungen kopieren")
    assert "w rechn" in counts and "b rechn kopier" in counts
    assert " rechnungen"[:4] in counts  # letter pieces still come from the word as written


def test_linear_model_is_fitted_within_its_budget_and_explained(index: IntentIndex) -> None:
    from dataclasses import replace

    from bot.core.matcher import DEFAULT_CONFIG

    linear = index._linear
    assert linear is not None
    n = len(index)
    assert linear.updates == min(DEFAULT_CONFIG.linear_epochs * n, DEFAULT_CONFIG.linear_max_updates)
    text = index.explain("rechnung herunterladen", "de")
    assert "30% naive Bayes" in text and "70% linear" in text
    capped = IntentIndex.build(
        INTENTS, SETTINGS, replace(DEFAULT_CONFIG, linear_max_updates=5, linear_max_boost=1.0)
    )
    assert capped._linear is not None and capped._linear.updates == 5
    boosted = IntentIndex.build(INTENTS, SETTINGS, replace(DEFAULT_CONFIG, linear_max_updates=5))
    assert boosted._linear is not None and boosted._linear.updates == 10  # 4 intents: twice the updates
    off = IntentIndex.build(INTENTS, SETTINGS, replace(DEFAULT_CONFIG, linear_share=0.0))
    assert off._linear is None and "naive Bayes" not in off.explain("rechnung herunterladen", "de")
    best = off.match("Rechnung herunterladen", "de").best
    assert best is not None and best.intent_id == "invoice_copy"


def test_words_no_example_uses_are_repaired_and_the_repair_is_explained(index: IntentIndex) -> None:
    typo = index.match("terminate my subscriptoin", "en")
    assert typo.best is not None and typo.best.intent_id == "cancel_contract"
    assert typo.best.score == index.match("terminate my subscription", "en").best.score  # type: ignore[union-attr]
    assert "'subscriptoin' -> 'subscription'" in index.explain("terminate my subscriptoin", "en")
    assert "spelling repaired" not in index.explain("terminate my subscription", "en")
