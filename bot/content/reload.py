"""Live reload: editors save a file, the running bot answers from the new version within seconds.

The watcher polls instead of using inotify so that it behaves the same on every OS, in containers and on
network shares. A poll only compares file sizes and modification times; the files are read and hashed only
when those change, and validated only when the hash differs from the version being served (saving without a
change, or ``touch``, does not reload). A broken folder never replaces a good one: the bot keeps serving the
last good version and ``on_error`` says why. Loading runs in a worker thread so customers' messages are
never held up by an editor's save.

With several replicas (``shared``, see :class:`SharedReload`) only one of them looks at the folder; when it
reloads, or when staff ask for ``/reload`` on any replica, a generation counter in the database goes up, and
every replica that sees the new number checks its own folder at once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from bot.content.loader import LoadResult, folder_fingerprint, load_folder, yaml_files
from bot.content.problems import ContentError, Problem

log = logging.getLogger(__name__)

OnReload = Callable[[LoadResult], Awaitable[None] | None]
OnError = Callable[[ContentError], Awaitable[None] | None]
Snapshot = tuple[tuple[str, int, int], ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a check found, for a staff ``/reload`` reply or a log line."""

    status: Literal["unchanged", "reloaded", "failed"]
    current: LoadResult | None
    """The version being served after the check (the last good one)."""
    error: ContentError | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:
        intents = len(self.current.content.intents) if self.current else 0
        if self.status == "reloaded":
            return f"reloaded: now serving {intents} intents"
        if self.status == "unchanged":
            return f"no change: serving {intents} intents"
        errors = len(self.error.errors) if self.error else 0
        return f"the folder has {errors} error(s); still serving the last good version:\n{self.error}"


class SharedReload(Protocol):
    """How the replicas of one deployment agree on reloads (implemented on the database by the service)."""

    async def may_watch(self) -> bool:
        """True on the one replica that looks at the folder (the others follow the generation)."""
        ...

    async def generation(self) -> int:
        """The deployment's reload counter."""
        ...

    async def announce(self) -> int:
        """Count the generation up (every replica checks its folder); returns the new number."""
        ...


class ContentWatcher:
    def __init__(
        self,
        folder: str | Path,
        *,
        on_reload: OnReload | None = None,
        on_error: OnError | None = None,
        initial: LoadResult | None = None,
        interval: float = 2.0,
        defaults: str | Path | None = None,
        shared: SharedReload | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.shared = shared
        self._generation: int | None = None
        self.on_reload = on_reload
        self.on_error = on_error
        self.current = initial
        """The last good version (what the bot serves)."""
        self.interval = interval
        self.defaults = defaults
        self.last_error: ContentError | None = None
        self._failed_fingerprint: str | None = None
        self._seen: Snapshot | None = None
        self._lock = asyncio.Lock()

    def _snapshot(self) -> Snapshot:
        try:
            entries = []
            for path in yaml_files(self.folder):
                stat = path.stat()
                entries.append((path.as_posix(), stat.st_mtime_ns, stat.st_size))
            return tuple(entries)
        except OSError:
            return ()  # folder gone or a file vanished mid-scan: check_now reports it properly

    async def check_now(self, *, everywhere: bool = False) -> ReloadOutcome:
        """Reload if the folder differs from what is served; ``on_reload``/``on_error`` are called on change.

        ``everywhere`` (a staff ``/reload``) makes every replica check its folder too.
        """
        outcome = await self._check()
        if everywhere or outcome.status == "reloaded":
            await self._announce()
        return outcome

    async def _announce(self) -> None:
        if self.shared is None:
            return
        try:
            self._generation = await self.shared.announce()
        except Exception:
            log.warning("could not tell the other replicas to reload", exc_info=True)

    async def _follow(self) -> None:
        """Check the folder when another replica announced a reload (the generation moved)."""
        if self.shared is None:
            return
        try:
            current = await self.shared.generation()
        except Exception:
            log.warning("could not read the reload generation; checking the folder here", exc_info=True)
            return
        seen, self._generation = self._generation, current
        if seen is not None and current != seen:
            await self._check(quiet=True)  # errors are the announcing replica's to report, once

    async def _may_watch(self) -> bool:
        if self.shared is None:
            return True
        try:
            return await self.shared.may_watch()
        except Exception:
            return True  # cannot agree: watching twice is harmless, not watching is not

    async def _check(self, *, quiet: bool = False) -> ReloadOutcome:
        async with self._lock:
            self._seen = await asyncio.to_thread(self._snapshot)
            fingerprint: str | None = None
            try:
                fingerprint = await self._off_loop(folder_fingerprint)
                if self.current is not None and fingerprint == self.current.content.fingerprint:
                    return ReloadOutcome("unchanged", self.current)
                if fingerprint == self._failed_fingerprint and self.last_error is not None:
                    return ReloadOutcome("failed", self.current, self.last_error)  # reported already
                result = await self._off_loop(load_folder)
            except ContentError as error:
                return await self._failed(error, fingerprint, quiet=quiet)
            self.current = result
            self.last_error = None
            self._failed_fingerprint = None
            log.info("intents reloaded from %s: %d intents", self.folder, len(result.content.intents))
            await _call(self.on_reload, result)
            return ReloadOutcome("reloaded", result)

    async def _off_loop(self, read: Callable[..., T]) -> T:
        """Run ``read(folder, defaults=...)`` in a worker thread; a vanished file is a content error."""
        try:
            return await asyncio.to_thread(read, self.folder, defaults=self.defaults)
        except OSError as error:
            raise ContentError([Problem(str(self.folder), 1, "", f"cannot be read: {error}")]) from error

    async def _failed(
        self, error: ContentError, fingerprint: str | None, *, quiet: bool = False
    ) -> ReloadOutcome:
        self.last_error = error
        self._failed_fingerprint = fingerprint
        log.warning("intents folder %s has errors; keeping the last good version:\n%s", self.folder, error)
        if not quiet:
            await _call(self.on_error, error)
        return ReloadOutcome("failed", self.current, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        await self._poll(force=True)  # catches changes made between the first load and the watcher's start
        await self._follow()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
                return
            except TimeoutError:
                pass
            try:
                await self._follow()
                if await self._may_watch():
                    await self._poll()
            except Exception:  # the watcher must outlive any bug
                log.exception("watching %s failed", self.folder)

    async def _poll(self, force: bool = False) -> None:
        snapshot = await asyncio.to_thread(self._snapshot)
        if force or snapshot != self._seen:
            try:
                await self.check_now()
            except Exception:  # the watcher must outlive any bug
                log.exception("reloading %s failed", self.folder)


async def _call(callback: Callable[[Any], Awaitable[None] | None] | None, value: object) -> None:
    if callback is None:
        return
    try:
        result = callback(value)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("reload callback %r failed", callback)
