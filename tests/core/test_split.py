"""Cutting a message into its questions: sentence ends and "und/and (also)", never mid-thought."""

from __future__ import annotations

from bot.core.split import split_questions


def test_two_questions_joined_by_und() -> None:
    assert split_questions("Ich habe meine PIN vergessen und wie kann ich meine Bankverbindung ändern?") == (
        "Ich habe meine PIN vergessen",
        "wie kann ich meine Bankverbindung ändern?",
    )


def test_two_sentences_and_a_leading_and_also() -> None:
    assert split_questions("How do I pay by paypal? And also where is my invoice?") == (
        "How do I pay by paypal?",
        "where is my invoice?",
    )


def test_short_pieces_stay_with_their_neighbour() -> None:
    assert split_questions("Internet und Telefon gehen nicht") == ("Internet und Telefon gehen nicht",)
    assert split_questions("Ich möchte kündigen und zwar sofort") == ("Ich möchte kündigen und zwar sofort",)
    assert split_questions("Hallo. Meine Rechnung ist zu hoch.") == ("Hallo. Meine Rechnung ist zu hoch.",)


def test_one_question_is_returned_whole_and_tidied() -> None:
    assert split_questions("  Rechnung   herunterladen ") == ("Rechnung herunterladen",)
    assert split_questions("   ") == ()


def test_a_long_story_is_not_cut_into_many_questions() -> None:
    story = ". ".join(f"Satz Nummer {n} ist hier" for n in range(6))
    assert split_questions(story) == (story,)
