"""Loading the intents folder at start-up without ignoring a stop request (SIGTERM) meanwhile.

A big folder takes seconds to load and compile. ``asyncio.to_thread`` would run it in the loop's default
executor, whose worker threads the interpreter joins at exit: a SIGTERM during the load would be noticed
only after the load finished, and an orchestrator would have to kill the bot. Here the load runs in a daemon
thread and the caller waits for whichever comes first, the folder or the stop; when the stop wins the bot
exits at once and the half-done load dies with the process (it only reads files).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

from bot.content.loader import LoadResult, load_folder


async def load_unless_stopped(path: Path, stop: asyncio.Event) -> LoadResult | None:
    """The loaded folder, or None when ``stop`` was set first. A broken folder raises ``ContentError``."""
    if stop.is_set():
        return None
    loop = asyncio.get_running_loop()
    loaded: asyncio.Future[LoadResult] = loop.create_future()

    def deliver(result: LoadResult | None, error: BaseException | None) -> None:
        if loaded.done():
            return
        if error is not None:
            loaded.set_exception(error)
        else:
            assert result is not None
            loaded.set_result(result)

    def work() -> None:
        try:
            result, error = load_folder(path), None
        except BaseException as caught:  # handed to the waiting task, which raises it
            result, error = None, caught
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=work, name="intents-load", daemon=True).start()
    stopped: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    waiting: set[asyncio.Future[object]] = {loaded, stopped}  # type: ignore[arg-type]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if loaded.done():
        return loaded.result()
    loaded.cancel()
    return None
