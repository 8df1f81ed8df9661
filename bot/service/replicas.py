"""Running as one of several replicas: keeping leases alive, timed jobs once per deployment.

The storage side (``bot/storage/coordination.py``) says who holds what; this module holds on to it while work
is in flight. A lease is renewed every third of its length, so a replica has to miss two renewals in a row
(a stalled event loop, a dead process, a cut network) before another one takes its work over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.storage import Database
from bot.storage.coordination import JOB, replica_id

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
"""How long a claim on a customer's outbox queue or a chat's inbox lasts without renewal: the longest a
dead replica's customers wait before another replica serves them."""


def _now() -> datetime:
    return datetime.now(UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


async def expire_dead_local(db: Database, owner: str | None = None) -> int:
    """Let the leases of this host's dead processes lapse at once (a restart need not wait them out).

    A process of this host (same hostname in its replica id) is dead when its pid no longer exists. Leases of
    other hosts, and of a process with our own pid (a restarted container is pid 1 again; so is every other
    container that shares its hostname), run out by time: a pid says nothing across pid namespaces. So every
    replica needs a hostname of its own (Docker and Kubernetes give each container one).
    """
    me = owner or replica_id()
    host = me.rsplit("-", 2)[0]
    alive: list[str] = []
    for name in await db.lease_owners():
        parts = name.rsplit("-", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid() or _pid_alive(pid):
            alive.append(name)
    expired = await db.expire_dead_local(me, alive)
    if expired:
        log.info("leases of %d stopped process(es) on this host released", expired)
    return expired


@contextlib.asynccontextmanager
async def kept(
    db: Database,
    scope: str,
    owner: str,
    *,
    seconds: float = LEASE_SECONDS,
    clock: Callable[[], datetime] = _now,
) -> AsyncIterator[None]:
    """Renew every lease ``owner`` holds in ``scope`` while the block runs (a slow send keeps its customer)."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                await db.renew_leases(scope, owner, clock() + timedelta(seconds=seconds))
            except Exception:
                log.warning("could not renew the %s leases; retrying", scope, exc_info=True)

    task = asyncio.create_task(renew(), name=f"leases-{scope}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_job(
    db: Database,
    name: str,
    work: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    *,
    every: float,
    lease: float | None = None,
    owner: str | None = None,
    clock: Callable[[], datetime] = _now,
) -> None:
    """Run ``work`` every ``every`` seconds on the one replica holding the job's lease, until ``stop``.

    The lease lasts ``lease`` seconds (default: three periods) and the holder renews it each time it runs;
    when the holder dies another replica takes the job over once it lapses. A failing run is logged, never
    fatal.
    """
    me = owner or replica_id()
    while not stop.is_set():
        try:
            now = clock()
            until = now + timedelta(seconds=3 * every if lease is None else lease)
            held = await db.take_lease(JOB, name, me, now=now, until=until)
            if held is not None and not stop.is_set():
                await work()
        except Exception:
            log.exception("the timed job %s failed; trying again in %.0f s", name, every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    with contextlib.suppress(Exception):
        await db.release_leases(JOB, me, [name])


CONTENT = "content"
"""The generation counter of the intents folder, and the name of the job that watches it."""


class SharedContentReload:
    """:class:`bot.content.reload.SharedReload` on the database: the holder of the ``content`` job lease
    watches the folder; the ``content`` generation tells every replica to check its own."""

    def __init__(
        self,
        db: Database,
        *,
        owner: str | None = None,
        lease: float = 10.0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.owner = owner or replica_id()
        self.lease = lease
        self._clock = clock

    async def may_watch(self) -> bool:
        now = self._clock()
        until = now + timedelta(seconds=self.lease)
        return await self.db.take_lease(JOB, CONTENT, self.owner, now=now, until=until) is not None

    async def generation(self) -> int:
        return await self.db.generation(CONTENT)

    async def announce(self) -> int:
        return await self.db.bump_generation(CONTENT, self._clock())
