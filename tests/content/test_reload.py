"""Live reload on a real temporary folder: good change -> new content, broken change -> last good kept."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.content.loader import ContentError, LoadResult, load_folder
from bot.content.reload import ContentWatcher
from tests.content.conftest import DEFAULTS, ROUTER_INTENT, MakeFolder


class Recorder:
    def __init__(self) -> None:
        self.reloads: list[LoadResult] = []
        self.errors: list[ContentError] = []
        self.event = asyncio.Event()

    def on_reload(self, result: LoadResult) -> None:
        self.reloads.append(result)
        self.event.set()

    async def on_error(self, error: ContentError) -> None:  # async callbacks are awaited
        self.errors.append(error)
        self.event.set()


def watcher_for(folder: Path, recorder: Recorder, interval: float = 2.0) -> ContentWatcher:
    initial = load_folder(folder, defaults=DEFAULTS)
    return ContentWatcher(
        folder,
        on_reload=recorder.on_reload,
        on_error=recorder.on_error,
        initial=initial,
        interval=interval,
        defaults=DEFAULTS,
    )


def ids(result: LoadResult | None) -> list[str]:
    assert result is not None
    return [intent.id for intent in result.content.intents]


async def test_good_change_reloads_and_broken_change_keeps_the_last_good(make_folder: MakeFolder) -> None:
    folder = make_folder()
    recorder = Recorder()
    watcher = watcher_for(folder, recorder)

    outcome = await watcher.check_now()
    assert outcome.status == "unchanged" and not recorder.reloads and not recorder.errors

    (folder / "router.yaml").write_text(ROUTER_INTENT, encoding="utf-8")
    outcome = await watcher.check_now()
    assert outcome.status == "reloaded" and str(outcome) == "reloaded: now serving 5 intents"
    assert ids(recorder.reloads[-1])[-1] == "router_reset"

    (folder / "router.yaml").write_text(ROUTER_INTENT.replace("answers:", "answer:"), encoding="utf-8")
    outcome = await watcher.check_now()
    assert outcome.status == "failed" and not outcome.ok
    assert len(recorder.errors) == 1 and "unknown key 'answer'" in str(recorder.errors[0])
    assert watcher.current is recorder.reloads[-1]  # still serving the last good version
    assert "still serving the last good version" in str(outcome)

    again = await watcher.check_now()  # same broken bytes: reported, but no second callback
    assert again.status == "failed" and len(recorder.errors) == 1

    (folder / "router.yaml").unlink()
    outcome = await watcher.check_now()
    assert outcome.status == "reloaded" and "router_reset" not in ids(watcher.current)


async def test_touch_without_change_does_not_reload(make_folder: MakeFolder) -> None:
    folder = make_folder()
    recorder = Recorder()
    watcher = watcher_for(folder, recorder)
    os.utime(folder / "tests.yaml", ns=(1, 1))
    assert (await watcher.check_now()).status == "unchanged"
    assert recorder.reloads == []


async def test_run_polls_until_stopped(make_folder: MakeFolder) -> None:
    folder = make_folder()
    recorder = Recorder()
    watcher = watcher_for(folder, recorder, interval=0.02)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    await asyncio.sleep(0.05)
    (folder / "router.yaml").write_text(ROUTER_INTENT, encoding="utf-8")
    await asyncio.wait_for(recorder.event.wait(), timeout=5)
    assert ids(recorder.reloads[-1])[-1] == "router_reset"

    recorder.event.clear()
    (folder / "router.yaml").write_text("intents: [", encoding="utf-8")
    await asyncio.wait_for(recorder.event.wait(), timeout=5)
    assert "(yaml)" in str(recorder.errors[-1])
    assert ids(watcher.current)[-1] == "router_reset"

    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_a_folder_that_disappears_is_an_error_not_a_crash(make_folder: MakeFolder) -> None:
    folder = make_folder()
    recorder = Recorder()
    watcher = watcher_for(folder, recorder)
    for file in sorted(folder.rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    folder.rmdir()
    outcome = await watcher.check_now()
    assert outcome.status == "failed" and "does not exist" in str(outcome)
    assert watcher.current is not None  # the bot keeps answering
