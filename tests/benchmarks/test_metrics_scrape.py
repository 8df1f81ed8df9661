"""Smoke test of benchmarks/metrics_scrape.py: the loaded file is valid and the gauges count what waits.
No timing is asserted."""

from __future__ import annotations

from benchmarks import metrics_scrape


async def test_the_scrape_counts_only_what_waits() -> None:
    result = await metrics_scrape.run(delivered=200, resolved=100, pending=7, open_tickets=5, runs=2)
    assert (result.pending, result.open) == (7, 5)
    assert result.figures_ms > 0 and result.exposition_ms > 0 and result.baseline_ms > 0
