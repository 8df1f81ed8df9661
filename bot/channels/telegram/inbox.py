"""The inbox of raw Telegram updates: stored first, confirmed second, processed from storage.

Telegram forgets an update once the bot confirms it (the next ``getUpdates`` offset, or a webhook's 2xx).
PTB's own Updater confirms at once and lets the handlers store later, so a crash in between lost every
update of the batch. Here the order is fixed:

1. :meth:`UpdateInbox.store` commits the batch's raw JSON in one transaction (``inbound_updates``);
2. only then does the poller move its offset past them (or the webhook answer 200);
3. :meth:`UpdateInbox.run` processes the stored rows through PTB's ``Application.process_update`` and
   marks each done after its handlers finished. A restart processes whatever is still pending first.

An update PTB cannot parse, or whose handlers fail every time, is marked ``poisoned`` once, logged once
(update id and exception, never the customer's text) and skipped, so it cannot stall everyone behind it.
Rows of one chat are processed strictly in order; different chats run concurrently, a few at a time.
With several replicas on one database each chat is leased to one of them at a time (``leases``, scope
``inbox:telegram``): whichever replica stored an update, the chat's holder processes it, in order. A replica
that dies mid-update leaves its chats to the others when the lease lapses; the interrupted update is then
processed again and its ``attempts`` counted. It is not poisoned for that: a replica killed by its
operator (a deploy, a chaos test) says nothing about the update, and a customer's message must not be skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update

from bot.channels.telegram.app import TelegramApp
from bot.channels.telegram.channel import CHANNEL_NAME
from bot.service.replicas import LEASE_SECONDS, expire_dead_local, kept
from bot.storage import Database, StoredUpdate
from bot.storage.coordination import inbox_scope, replica_id

log = logging.getLogger(__name__)

HANDLING_ATTEMPTS = 3
"""How often an update whose handlers raise is tried (with a short pause) before it is poisoned."""

RETRY_PAUSE = 0.2
"""Seconds before the second try (doubling after); the chat's later updates wait meanwhile."""

HANDLING_TIMEOUT = 120.0
"""Seconds one run of an update's handlers may take before it counts as failed: a handler stuck on a
network call must not hold its chat (and one of the few processing slots) forever."""

CONCURRENT_CHATS = 8
"""Chats processed at the same time. Turns share one SQLite connection, so more buys little."""

KEEP_FINISHED = timedelta(days=7)
"""Finished rows are kept this long to recognise a redelivery (Telegram keeps updates at most a day)."""


def chat_key(raw: Mapping[str, Any]) -> str:
    """The chat an update belongs to, read from the raw JSON (it may not parse): the key of in-order
    processing. A button press counts for the chat of the message it is under; empty if none is known."""
    for name, value in raw.items():
        if name == "update_id" or not isinstance(value, Mapping):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, Mapping) and isinstance(holder.get("chat"), Mapping):
                return str(holder["chat"].get("id", ""))
        sender = value.get("from") or value.get("user")
        if isinstance(sender, Mapping) and "id" in sender:
            return str(sender["id"])
    return ""


def update_id(raw: object) -> int | None:
    """The ``update_id`` of one raw update, or None when it has none (such an entry cannot be stored)."""
    if isinstance(raw, Mapping):
        value = raw.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def describe(error: BaseException) -> str:
    """Exception type and message, cut short: a log line must not carry a customer's text along."""
    text = str(error).replace("\n", " ")
    return f"{type(error).__name__}: {text[:200]}"


class UpdateInbox:
    """Stores raw updates and feeds them to the PTB ``Application``'s handlers from storage."""

    def __init__(
        self,
        db: Database,
        app: TelegramApp,
        *,
        concurrency: int = CONCURRENT_CHATS,
        owner: str | None = None,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.app = app
        self.concurrency = concurrency
        self.owner = owner or replica_id()
        """This replica's name in the chats' leases: one replica at a time processes a chat."""
        self.lease = lease
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: dict[int, BaseException] = {}
        self._in_flight: set[int] = set()
        self.processed = 0
        self.poisoned = 0

    # --- storing --------------------------------------------------------------------------------------

    async def store(self, raws: Sequence[object]) -> int:
        """Commit a fetched batch (one transaction); returns the highest update id in it, or -1.

        Entries without an ``update_id`` cannot be stored (nor confirmed on their own); they are logged and
        left out. Redelivered updates (already stored) are ignored.
        """
        rows: list[tuple[str, str, str]] = []
        highest = -1
        for raw in raws:
            number = update_id(raw)
            if number is None:
                log.warning("an update without an update_id was left out")
                continue
            assert isinstance(raw, Mapping)
            highest = max(highest, number)
            # ensure_ascii: a lone surrogate in a customer's text is kept as an escape, not an encoding error.
            rows.append((str(number), chat_key(raw), json.dumps(raw, ensure_ascii=True)))
        if rows:
            await self.db.store_updates(CHANNEL_NAME, rows, datetime.now(UTC))
            self._wake.set()
        return highest

    # --- processing -----------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def handler_failed(self, update: object, error: BaseException) -> bool:
        """Called by the Application's error handler: True if the update is one of ours in flight (the
        inbox then decides: retry, then poison, logged once), False for anything else."""
        if isinstance(update, Update) and update.update_id in self._in_flight:
            self._errors[update.update_id] = error
            return True
        return False

    async def run(self, stop: asyncio.Event, *, interval: float = 1.0) -> None:
        """Process stored updates until ``stop`` is set (pending rows from before a restart come first)."""
        try:
            await self.db.prune_updates(datetime.now(UTC) - KEEP_FINISHED)
            await expire_dead_local(self.db, self.owner)
        except Exception:
            log.exception("could not delete old finished updates; continuing")
        scope = inbox_scope(CHANNEL_NAME)
        try:
            async with kept(self.db, scope, self.owner, seconds=self.lease):
                await self._loop(stop, interval)
        finally:
            with contextlib.suppress(Exception):
                await self.db.release_leases(scope, self.owner)

    async def _loop(self, stop: asyncio.Event, interval: float) -> None:
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._start_ready()
                except Exception:
                    log.exception("reading the inbox failed; retrying")
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                _, pending = await asyncio.wait(
                    waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
        finally:
            # Let handlers that already started finish (their rows are marked done); anything not started
            # stays pending for the next start.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)

    async def _start_ready(self) -> int:
        """Claim chats with pending updates that no replica is processing (this one's busy chats excluded)
        and start each one's oldest pending update, up to ``concurrency`` chats at a time."""
        free = self.concurrency - len(self._busy)
        if free <= 0:
            return 0
        now = datetime.now(UTC)
        rows = await self.db.claim_updates(
            CHANNEL_NAME,
            self.owner,
            now=now,
            until=now + timedelta(seconds=self.lease),
            chats=free,
            exclude=sorted(self._busy),
        )
        for row in rows:
            self._busy.add(row.chat)
            task = asyncio.create_task(self._process_chat(row), name=f"update-{row.external_id}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _process_chat(self, row: StoredUpdate | None) -> None:
        """A claimed chat's pending updates, in order, for as long as this replica holds its lease."""
        scope = inbox_scope(CHANNEL_NAME)
        chat = row.chat if row is not None else ""
        try:
            while row is not None:
                if not await self._process(row):
                    await self.db.release_leases(scope, self.owner, [chat])  # tried again next round
                    return
                now = datetime.now(UTC)
                row = await self.db.next_update(
                    CHANNEL_NAME, chat, self.owner, now=now, until=now + timedelta(seconds=self.lease)
                )
        except Exception:
            log.exception("chat %s: reading its next update failed; its lease lapses", chat or "?")
        finally:
            self._busy.discard(chat)

    async def _process(self, row: StoredUpdate) -> bool:
        """One update; False when its outcome could not be recorded (it stays pending)."""
        try:
            await self._process_row(row)
        except Exception:
            # Storage trouble marking the row: it stays pending and is tried again on the next round.
            log.exception("update %s: could not record its outcome", row.external_id)
            return False
        return True

    async def _process_row(self, row: StoredUpdate) -> None:
        try:
            update = Update.de_json(json.loads(row.raw), self.app.bot)
        except Exception as error:
            await self._poison(row, error, attempts=1)
            return
        self._in_flight.add(update.update_id)
        try:
            failure: BaseException | None = None
            for attempt in range(1, HANDLING_ATTEMPTS + 1):
                self._errors.pop(update.update_id, None)
                try:
                    await asyncio.wait_for(self.app.process_update(update), HANDLING_TIMEOUT)
                except Exception as error:  # a timeout; PTB routes the handlers' own errors to on_error
                    self._errors[update.update_id] = error
                failure = self._errors.pop(update.update_id, None)
                if failure is None:
                    await self.db.finish_update(row.id, datetime.now(UTC), attempts=attempt)
                    self.processed += 1
                    return
                log.debug("update %s failed (attempt %d)", row.external_id, attempt, exc_info=failure)
                if attempt < HANDLING_ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE * 2 ** (attempt - 1))
            assert failure is not None
            await self._poison(row, failure, attempts=HANDLING_ATTEMPTS)
        finally:
            self._in_flight.discard(update.update_id)

    async def _poison(self, row: StoredUpdate, error: BaseException, *, attempts: int) -> None:
        reason = describe(error)
        await self.db.poison_update(row.id, reason, datetime.now(UTC), attempts=attempts)
        self.poisoned += 1
        # Once, at WARNING: the update and chat ids and the exception, never the update's text.
        log.warning(
            "handling update %s in chat %s failed (%s); skipped and kept as poisoned",
            row.external_id,
            row.chat or "?",
            reason,
            exc_info=error,
        )
