"""Many widget visitors at once over WebSocket: reply latency, lost and doubled messages, memory, widget size.

The server is the product's own (``WebServer``: uvicorn, the engine, the shipped intents folder, a fresh
SQLite file with ``synchronous=FULL``) in a child process, so its memory can be read from ``/proc``; the
visitors are ``websockets`` clients in this process, all on 127.0.0.1. The rate limits are raised for the
run (200 visitors share one address, which the per-address limit exists to stop).

Measured:

* send -> reply: from sending a message to receiving the bot's answer to it (p50, p99), every turn a real
  store-analyse-decide-commit; the baseline is a ping -> pong on the same connections in the same run, which
  is what the transport alone costs.
* lost / shown twice: after the run every visitor reconnects with ``last_seq=0``; every message of the
  replay must have arrived live exactly once (a repeated sequence number counts as shown twice).
* memory per open connection: the server's RSS with all visitors connected and greeted, minus before, per
  visitor.
* widget.js raw and gzipped; page load -> widget ready in headless Chromium (``--browser``).

    python -m benchmarks.web_load --visitors 200 --messages 3
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Wie lade ich meine Rechnung herunter?",
    "Mein Internet ist langsam",
    "Ich möchte meinen Tarif wechseln",
    "where can I download my bill",
    "Wie kann ich bezahlen?",
    "Router einrichten",
]


def _serve(port_out: Any, database: str) -> None:
    """Child process: the web channel with the shipped folder, until killed."""
    from bot.channels.web.config import Limits, Rate, WebConfig
    from bot.channels.web.runtime import WebServer
    from bot.content.brain import Brain
    from bot.content.loader import load_folder
    from bot.service.engine import ConversationService
    from bot.storage import Database

    async def main() -> None:
        db = await Database.open(database)
        conversation = ConversationService(db, Brain.build(load_folder(ROOT / "intents").content))
        unlimited = Rate(100_000, 1_000_000)
        config = WebConfig(port=0, limits=Limits(unlimited, unlimited, unlimited))
        server = WebServer(db, conversation, config)
        server.bind()
        port_out.put(server.port)
        await server.serve(asyncio.Event())

    asyncio.run(main())


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _post(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=60) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


@dataclass
class Visitor:
    token: str
    seen: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    pings: list[float] = field(default_factory=list)
    unanswered: int = 0


async def _until(ws: Any, visitor: Visitor, wanted: Any) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 60.0))
        if frame["type"] == "message":
            visitor.seen.append(int(frame["seq"]))
        if wanted(frame):
            return frame


async def _visit(
    url: str, visitor: Visitor, messages: int, connected: asyncio.Barrier, go: asyncio.Event
) -> None:
    import websockets

    async with websockets.connect(url, max_size=2**20, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "last_seq": 0, "lang": "de"}))
        await _until(ws, visitor, lambda f: f["type"] == "status")
        await connected.wait()
        await go.wait()
        for n in range(messages):
            start = time.perf_counter()
            await ws.send(json.dumps({"type": "ping"}))
            await _until(ws, visitor, lambda f: f["type"] == "pong")
            visitor.pings.append(time.perf_counter() - start)
            client_id = f"m{n}"
            start = time.perf_counter()
            await ws.send(
                json.dumps({"type": "message", "id": client_id, "text": QUESTIONS[n % len(QUESTIONS)]})
            )
            ack = await _until(
                ws,
                visitor,
                lambda f, wanted=client_id: f["type"] in ("ack", "error") and f.get("id") == wanted,
            )
            if ack["type"] == "error":
                visitor.unanswered += 1
                continue
            try:
                await _until(
                    ws,
                    visitor,
                    lambda f, after=ack["seq"]: (
                        f["type"] == "message" and f["author"] == "bot" and f["seq"] > after
                    ),
                )
            except TimeoutError:
                visitor.unanswered += 1
                continue
            visitor.latencies.append(time.perf_counter() - start)
        await asyncio.sleep(1.5)  # let trailing messages (a second bubble) arrive before leaving


async def _replay(url: str, visitor: Visitor) -> list[int]:
    import websockets

    async with websockets.connect(url, max_size=2**22, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "last_seq": 0}))
        seqs: list[int] = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["type"] == "message":
                seqs.append(int(frame["seq"]))
            if frame["type"] == "status":
                return seqs


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _load(base: str, pid: int, visitors_count: int, messages: int) -> dict[str, Any]:
    ws_url = base.replace("http", "ws") + "/widget/ws"
    visitors = [Visitor(_post(base + "/widget/token")["token"]) for _ in range(visitors_count)]
    warm = Visitor(_post(base + "/widget/token")["token"])
    await _visit(ws_url, warm, 1, asyncio.Barrier(1), _set_event())
    rss_before = _rss_kb(pid)
    connected = asyncio.Barrier(visitors_count + 1)
    go = asyncio.Event()
    tasks = [asyncio.create_task(_visit(ws_url, v, messages, connected, go)) for v in visitors]
    await connected.wait()
    rss_connected = _rss_kb(pid)
    start = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    lost = doubled = 0
    for visitor in visitors:
        replayed = await _replay(ws_url, visitor)
        live = visitor.seen
        doubled += len(live) - len(set(live))
        lost += len(set(replayed) - set(live))
    latencies = [x for v in visitors for x in v.latencies]
    pings = [x for v in visitors for x in v.pings]
    return {
        "visitors": visitors_count,
        "messages_each": messages,
        "replies": len(latencies),
        "unanswered": sum(v.unanswered for v in visitors),
        "reply_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "reply_p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "ping_p50_ms": round(statistics.median(pings) * 1000, 1),
        "ping_p99_ms": round(_percentile(pings, 0.99) * 1000, 1),
        "turns_per_second": round(len(latencies) / wall, 1),
        "lost": lost,
        "shown_twice": doubled,
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_connected_mb": round(rss_connected / 1024, 1),
        "kb_per_connection": round((rss_connected - rss_before) / visitors_count, 1),
    }


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


def _widget_size(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "/widget.js", timeout=60) as response:
        body = response.read()
    return {"widget_js_bytes": len(body), "widget_js_gzip_bytes": len(gzip.compress(body, 6))}


async def _browser(base: str, loads: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.channels.web.test_widget_browser import ARGS, CHROMIUM

    ready, greeted = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for _ in range(loads):
            context = await browser.new_context(locale="de-DE")
            page = await context.new_page()
            await page.goto(base + "/")
            await page.wait_for_selector("#carebot-widget[data-ready]", state="attached")
            ready.append(float(await page.eval_on_selector("#carebot-widget", "n => n.dataset.ready")))
            start = time.perf_counter()
            await page.get_by_role("button", name="Chat", exact=False).click()
            await page.get_by_role("log").locator(".msg").first.wait_for()
            greeted.append((time.perf_counter() - start) * 1000)
            await context.close()
        await browser.close()
    return {
        "page_load_to_widget_ready_ms_p50": round(statistics.median(ready), 1),
        "open_to_greeting_ms_p50": round(statistics.median(greeted), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--browser", type=int, default=0, help="page loads in headless Chromium (0: skip)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        context = multiprocessing.get_context("spawn")
        ports = context.Queue()
        child = context.Process(target=_serve, args=(ports, os.path.join(folder, "bot.db")), daemon=True)
        child.start()
        try:
            base = f"http://127.0.0.1:{ports.get(timeout=120)}"
            assert child.pid is not None
            result = asyncio.run(_load(base, child.pid, args.visitors, args.messages))
            result.update(_widget_size(base))
            if args.browser:
                result.update(asyncio.run(_browser(base, args.browser)))
            result["load_average"] = round(os.getloadavg()[0], 2)
        finally:
            child.terminate()
            child.join(30)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
