"""The brain runs the sentence encoder once per message: the tone analyser reuses the matcher's vector."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.content.brain import Brain
from bot.content.loader import load_folder

SHIPPED = Path(__file__).resolve().parents[2] / "intents"


@cache
def shipped() -> Brain:
    return Brain.build(load_folder(SHIPPED).content)


def test_the_tone_reads_the_vector_the_matcher_computed() -> None:
    brain = shipped()
    text = "Diese Regierung gehört abgewählt, alles Heuchler und Versager"
    analysis = brain.analyze(text, language="de")
    assert analysis.match.vector is not None
    assert brain.tone.accepts_vectors(analysis.match.vector_model)
    assert any(reason.startswith("sentence meaning: +") for reason in analysis.tone.reasons)
    # The same analysis as handing the tone analyser that vector by hand: nothing is embedded twice.
    by_hand = brain.tone.analyze(text, "de", vector=analysis.match.vector)
    assert by_hand.reasons == analysis.tone.reasons


def test_vectors_of_another_encoder_are_not_read() -> None:
    assert not shipped().tone.accepts_vectors("some-other-encoder 1.0")
    assert not shipped().tone.accepts_vectors("")


def test_the_parts_of_a_message_are_matched_as_on_their_own() -> None:
    brain = shipped()
    analysis = brain.analyze("Wo finde ich meine Rechnung? Und wie kann ich kündigen?", language="de")
    assert [part.text for part in analysis.parts] == [
        "Wo finde ich meine Rechnung?",
        "wie kann ich kündigen?",
    ]
    for part in analysis.parts:
        alone = brain.index.match(part.text, "de")
        assert [(c.intent_id, c.score) for c in part.match.candidates] == [
            (c.intent_id, c.score) for c in alone.candidates
        ]
