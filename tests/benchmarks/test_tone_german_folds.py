"""The topic folds of the German benchmark: deterministic, and texts of one topic land in one cluster."""

from __future__ import annotations

from benchmarks.tone_german_folds import f1_on_fold, hashed_folds, points, topic_clusters
from bot.core.tone import saturate

TRAINS = [f"Die Bahn hat wieder Verspätung, der Zug nach Berlin fällt aus, Bahnhof {i}" for i in range(12)]
FOOTBALL = [f"Das Fußballspiel war super, Tor in der Nachspielzeit, Stadion {i}" for i in range(12)]


def test_topic_clusters_are_deterministic_and_keep_a_topic_together() -> None:
    texts = TRAINS + FOOTBALL
    first = topic_clusters(texts, k=2, max_share=1.0)
    assert first == topic_clusters(texts, k=2, max_share=1.0)
    assert len(set(first[:12])) == 1 and len(set(first[12:24])) == 1
    assert first[0] != first[12]


def test_hashed_folds_cover_every_fold() -> None:
    folds = hashed_folds([f"text {i}" for i in range(500)], 5)
    assert set(folds) == {0, 1, 2, 3, 4}


def test_points_invert_the_saturation() -> None:
    for p in (5.0, 20.0, 48.0):
        assert abs(points(saturate(p)) - p) < 0.1


def test_fold_f1_uses_a_threshold_from_the_carve() -> None:
    scored = [(80.0, True)] * 30 + [(10.0, False)] * 70
    assert f1_on_fold(scored) == 1.0
