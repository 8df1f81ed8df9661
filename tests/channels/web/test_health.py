"""``/healthz``, ``/readyz`` and ``/metrics`` on the app ``python -m bot run`` serves (widget, inbox, probes).

Built by ``bot.cli.run.web_service`` on a real SQLite file with the test intents; requests go through
httpx's ASGI transport in the test's own event loop, so a test can hold the database while it probes.
Metrics are read back with prometheus-client's own parser of the exposition format.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from bot.channels.web.config import WebConfig, WebConfigError, load
from bot.channels.web.health import Health
from bot.channels.web.runtime import WebServer
from bot.cli.run import web_service
from bot.content.brain import Brain
from bot.service.metrics import Metrics
from bot.storage import Database
from tests.channels.web.conftest import small_content

TOKEN = "s3cret-metrics-token-0123456789"


@asynccontextmanager
async def served(
    tmp_path: Path, **config: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Database, WebServer]]:
    db = await Database.open(tmp_path / "bot.db")
    try:
        _, server = web_service(db, Brain.build(small_content()), WebConfig(**config))
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            yield client, db, server
    finally:
        await db.close()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format (None when it is absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


async def say(client: httpx.AsyncClient, token: str, client_id: str, text: str) -> list[dict[str, Any]]:
    body = json.dumps({"type": "message", "id": client_id, "text": text})
    response = await client.post("/widget/send", content=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    frames: list[dict[str, Any]] = response.json()
    return frames


async def test_healthz_and_readyz_answer_and_readyz_fails_once_the_database_is_gone(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, db, _):
        alive = await client.get("/healthz")
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        assert ready.headers["cache-control"] == "no-store"

        await db.close()
        gone = await client.get("/readyz")
        assert gone.status_code == 503
        assert gone.json() == {"status": "unavailable", "reason": "the database: database is closed"}
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready


async def test_readyz_fails_when_the_database_does_not_answer_in_time(db: Database) -> None:
    """No database answers within 0 s (each engine needs at least a thread hop or a round trip); the same
    database with the real timeout is ready. Holding a lock instead would only stall SQLite's one connection,
    not PostgreSQL's pool, so the deadline itself is what the test moves."""
    brain = Brain.build(small_content())
    for timeout, status in ((0.0, 503), (1.0, 200)):
        app = Starlette(routes=list(Health(db, Metrics(), lambda: brain, timeout=timeout).routes()))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/readyz")
        assert response.status_code == status
        if status == 503:
            assert response.json()["reason"] == "the database did not answer within 0 s"


async def test_readyz_fails_without_intents(tmp_path: Path, db: Database) -> None:
    app = Starlette(routes=list(Health(db, Metrics(), lambda: None).routes()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "the intents folder is not loaded"


async def test_metrics_move_with_a_real_turn_and_its_delivery(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, _, server):
        before = (await client.get("/metrics")).text
        assert sample(before, "carebot_messages_in_total", channel="web") is None
        assert sample(before, "carebot_tickets_open", priority="urgent", status="open") == 0
        assert sample(before, "carebot_database_up") == 1

        token = (await client.post("/widget/token")).json()["token"]
        frames = await say(client, token, "c1", "Mitarbeiter bitte")
        assert frames[0]["type"] == "ack"
        again = await say(client, token, "c1", "Mitarbeiter bitte")  # the widget's retry
        assert again[0]["duplicate"] is True

        queued = await client.get("/metrics")
        assert queued.status_code == 200
        assert queued.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = queued.text
        assert sample(text, "carebot_messages_in_total", channel="web") == 1
        assert sample(text, "carebot_messages_in_duplicates_total", channel="web") == 1
        assert sample(text, "carebot_turn_seconds_count", channel="web") == 1
        assert sample(text, "carebot_turn_seconds_bucket", channel="web", le="+Inf") == 1
        pending = sample(text, "carebot_outbox_pending", channel="web")
        assert pending is not None and pending >= 1  # the hand-over's reply, not yet delivered
        age = sample(text, "carebot_outbox_oldest_pending_age_seconds", channel="web")
        assert age is not None and age >= 0
        open_tickets = sum(
            sample(text, "carebot_tickets_open", priority=p, status="open") or 0
            for p in ("low", "normal", "high", "urgent")
        )
        assert open_tickets == 1
        assert sample(text, "carebot_messages_out_total", channel="web") is None
        assert sample(text, "process_cpu_seconds_total") is not None

        delivered = await server.sender.run_once()
        assert delivered >= 1
        after = (await client.get("/metrics")).text
        assert sample(after, "carebot_messages_out_total", channel="web") == delivered
        assert sample(after, "carebot_outbox_pending", channel="web") is None  # nothing waits any more


async def test_metrics_say_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    async with served(tmp_path) as (client, db, _):
        token = (await client.post("/widget/token")).json()["token"]
        await say(client, token, "c1", "Wo finde ich meine Rechnung?")
        await db.close()
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert sample(response.text, "carebot_database_up") == 0
    assert sample(response.text, "carebot_messages_in_total", channel="web") == 1  # counters survive
    assert sample(response.text, "carebot_outbox_pending", channel="web") is None  # no stale gauges


async def test_a_metrics_token_is_required_once_set(tmp_path: Path) -> None:
    async with served(tmp_path, metrics_token=TOKEN) as (client, _, _):
        missing = await client.get("/metrics")
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        basic = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200 and "carebot_database_up 1.0" in right.text
        assert (await client.get("/readyz")).status_code == 200  # the probes need no token


async def test_probes_pass_the_host_check_and_metrics_only_with_a_token(tmp_path: Path) -> None:
    """A proxy's health check names the replica by its container address, which nobody lists in
    BOT_WEB_ALLOWED_HOSTS; /metrics without a token stays behind the check like every page."""
    stranger = {"Host": "172.18.0.5:8080"}
    async with served(tmp_path, allowed_hosts=("bot.example.com",)) as (client, _, _):
        assert (await client.get("/", headers=stranger)).status_code == 400
        assert (await client.get("/healthz", headers=stranger)).status_code == 200
        assert (await client.get("/readyz", headers=stranger)).status_code == 200
        assert (await client.get("/metrics", headers=stranger)).status_code == 400
        assert (await client.get("/metrics", headers={"Host": "bot.example.com"})).status_code == 200
    async with served(tmp_path, allowed_hosts=("bot.example.com",), metrics_token=TOKEN) as (client, _, _):
        scrape = await client.get("/metrics", headers={**stranger, "Authorization": f"Bearer {TOKEN}"})
        assert scrape.status_code == 200
        assert (await client.get("/metrics", headers=stranger)).status_code == 401
        assert (await client.get("/", headers=stranger)).status_code == 400


def test_a_metrics_token_must_be_long_and_header_safe() -> None:
    assert load({"BOT_METRICS_TOKEN": f"  {TOKEN} "}).metrics_token == TOKEN
    assert load({}).metrics_token is None
    for bad in ("too-short", "has spaces in the middle of it", "ümlaut-token-0123456789"):
        with pytest.raises(WebConfigError, match=r"^BOT_METRICS_TOKEN: must be at least 16 printable"):
            load({"BOT_METRICS_TOKEN": bad})
