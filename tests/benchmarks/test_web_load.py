"""The web load benchmark's contract on a tiny run: every message answered, none lost or shown twice."""

from __future__ import annotations

from benchmarks.web_load import main


def test_a_small_run_loses_nothing_and_reports_every_figure() -> None:
    result = main(["--visitors", "3", "--messages", "2"])
    assert result["replies"] == 6 and result["unanswered"] == 0
    assert result["lost"] == 0 and result["shown_twice"] == 0
    assert result["widget_js_bytes"] <= 30 * 1024 < result["widget_js_bytes"] * 4
    assert result["widget_js_gzip_bytes"] < result["widget_js_bytes"]
    assert result["reply_p50_ms"] > 0 and result["kb_per_connection"] is not None
