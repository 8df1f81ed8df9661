"""Long polling that confirms only what is stored: ``getUpdates`` driven here instead of by PTB's Updater.

Telegram drops every update below the ``offset`` of the next ``getUpdates``. The offset here is the highest
update id of the last batch :meth:`UpdateInbox.store` committed, plus one, so Telegram only forgets
updates that are safe in SQLite. It starts at 0 after a restart: Telegram then re-sends whatever it still
holds, and the inbox recognises what it stored already. (A persisted offset would be wrong after a
week without updates, when Telegram picks the next update id at random.)

The raw JSON is fetched, not PTB's parsed ``Update`` objects: a single update PTB cannot parse would
otherwise fail the whole batch, every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Sequence

from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.channels.telegram.app import TelegramApp
from bot.channels.telegram.channel import retry_after_seconds
from bot.channels.telegram.inbox import UpdateInbox

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0
"""Seconds beyond the long-poll timeout before a silent connection counts as dropped (PTB's default)."""

MAX_PAUSE = 30.0
"""Longest wait between failed ``getUpdates`` calls (network down, another instance polling)."""


async def fetch_raw(
    app: TelegramApp, *, offset: int, poll_seconds: float, allowed_updates: Sequence[str], limit: int = 100
) -> list[object]:
    """One ``getUpdates`` call returning Telegram's JSON as is (PTB's ``get_updates`` would parse it)."""
    with warnings.catch_warnings():
        # PTB suggests its typed get_updates for this endpoint; the raw list is exactly what we need.
        warnings.simplefilter("ignore", PTBUserWarning)
        result = await app.bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": offset,
                "timeout": int(poll_seconds),
                "limit": limit,
                "allowed_updates": list(allowed_updates),
            },
            read_timeout=READ_TIMEOUT + poll_seconds,
        )
    return list(result) if isinstance(result, list) else []


class Poller:
    """Fetch, store (commit), then confirm: the polling half of the inbox."""

    def __init__(
        self, app: TelegramApp, inbox: UpdateInbox, allowed_updates: Sequence[str], *, timeout: float = 10.0
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.allowed_updates = tuple(allowed_updates)
        self.timeout = timeout
        self.offset = 0
        self.failing = False
        """The last ``getUpdates`` failed (or its batch could not be stored): the heartbeat stops."""

    async def start(self) -> None:
        """Polling and a webhook exclude each other at Telegram: remove a webhook left from webhook mode
        (its pending updates stay queued and come by polling)."""
        await self.app.bot.delete_webhook(drop_pending_updates=False)

    async def run(self, stop: asyncio.Event) -> None:
        pause = 1.0
        while not stop.is_set():
            try:
                raws = await fetch_raw(
                    self.app,
                    offset=self.offset,
                    poll_seconds=self.timeout,
                    allowed_updates=self.allowed_updates,
                )
                highest = await self.inbox.store(raws)
            except RetryAfter as error:
                await self._sleep(stop, retry_after_seconds(error))
                continue
            except InvalidToken:
                # Revoked while running: the operator must act; keep trying slowly (the heartbeat goes
                # stale meanwhile).
                self.failing = True
                log.error("Telegram rejects the token (revoked?); trying again in %.0f s", MAX_PAUSE)
                await self._sleep(stop, MAX_PAUSE)
                continue
            except (NetworkError, Conflict, TelegramError) as error:
                # Conflict: another instance polls with the same token (or a webhook was set again).
                self.failing = True
                log.warning("getUpdates failed (%s); trying again in %.0f s", error, pause)
                await self._sleep(stop, pause)
                pause = min(MAX_PAUSE, pause * 2)
                continue
            except Exception:
                # Storing failed (disk full, database locked for too long): nothing was confirmed, so
                # Telegram sends the batch again.
                self.failing = True
                log.exception("could not store fetched updates; trying again in %.0f s", pause)
                await self._sleep(stop, pause)
                pause = min(MAX_PAUSE, pause * 2)
                continue
            pause = 1.0
            self.failing = False
            if highest >= self.offset:
                self.offset = highest + 1

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
