"""The one place a PTB ``Application`` is built, so production and tests run the same object.

Only the network layer differs: production lets PTB build its ``HTTPXRequest`` against the configured API
server; tests inject a ``BaseRequest`` that talks to an in-repo fake of the Bot API. Beside the factory live
the pieces every handler shares: the rate limiting, the log redaction, background calls.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, BaseRateLimiter, ContextTypes, ExtBot, JobQueue
from telegram.request import BaseRequest

from bot.channels.base import ON_THE_WIRE
from bot.channels.telegram.channel import retry_after_seconds
from bot.channels.telegram.config import TelegramConfig

if TYPE_CHECKING:
    from bot.channels.telegram.budget import SharedBudget

TelegramApp = Application[
    ExtBot[int], ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any], dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]  # fmt: skip
"""What :func:`build_application` returns: default context types, a rate limiter and a job queue."""

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "chat_member")
"""Everything the bot handles; asking Telegram for less keeps polling cheap. ``chat_member`` (not sent unless
asked for) tells the staff desk at once when someone leaves or is removed from the staff group."""

RETRIES_ON_FLOOD = 3
"""How often PTB's rate limiter waits out a 429 itself before the error reaches the outbox."""

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]


def _group(chat_id: object) -> bool:
    """Groups and channels have negative ids (or ``@username``); private chats positive ones."""
    if isinstance(chat_id, str):
        return chat_id.startswith("@") or chat_id.startswith("-")
    return isinstance(chat_id, int) and chat_id < 0


class SplitRateLimiter(BaseRateLimiter[int]):
    """Two of PTB's ``AIORateLimiter``: one for groups (the staff chat), one for everything else.

    ``AIORateLimiter`` pauses *every* request while it waits out a 429. Telegram's group limit (20 a minute)
    is much stricter than the rest, so one 429 from the staff group would hold up customers' answers; split in
    two, it only holds up the staff group.

    ``shared`` (set by the Telegram runtime) puts the budget every replica shares in front of both: a message
    waits for its place in the database's budget right before it is sent, and a 429 pauses every replica.
    """

    def __init__(
        self, private: AIORateLimiter, groups: AIORateLimiter, shared: SharedBudget | None = None
    ) -> None:
        self.private = private
        self.groups = groups
        self.shared = shared
        self.on_flood: Callable[[str], None] | None = None
        """Called with ``"group"`` or ``"private"`` for every 429 Telegram answers, also for those the
        limiter waits out itself (the runtime counts them: ``carebot_telegram_429``)."""

    async def initialize(self) -> None:
        await self.private.initialize()
        await self.groups.initialize()

    async def shutdown(self) -> None:
        await self.private.shutdown()
        await self.groups.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint == "sendChatAction":
            # "typing…" is no message: through the limiter, one per customer message took half of the ~30
            # a second that answers need (measured: 15 answers/s instead of 30, benchmarks/delivery.py). It
            # is cosmetic, a 429 for it is only logged.
            return await callback(*args, **kwargs)
        # Reads (getChatMember for the staff check, getChat) do not count against a group's 20 messages a
        # minute, and a handler waiting for one must not queue behind the staff group's messages.
        writes_to_group = _group(data.get("chat_id")) and not endpoint.startswith("get")
        limiter = self.groups if writes_to_group else self.private
        if self.on_flood is not None:
            callback = _noticing_floods(callback, self.on_flood, "group" if writes_to_group else "private")
        hook = ON_THE_WIRE.get()
        shared = self.shared if not endpoint.startswith("get") else None
        if hook is not None or shared is not None:
            # The shared budget is taken after this process's limiter waited, then the outbox marks its row
            # as being sent, right before the request (and again, harmlessly, before a retry after a 429).
            request = callback
            group = str(data.get("chat_id")) if writes_to_group else None

            async def callback(*args: Any, **kwargs: Any) -> bool | JSONDict | list[JSONDict]:
                if shared is not None:
                    await shared.take(group)
                if hook is not None:
                    await hook()
                try:
                    return await request(*args, **kwargs)
                except RetryAfter as error:
                    if shared is not None:
                        await shared.blocked(group, retry_after_seconds(error))
                    raise

        return await limiter.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def _noticing_floods(
    request: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
    on_flood: Callable[[str], None],
    scope: str,
) -> Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]:
    """``request``, telling ``on_flood`` about each 429 before the limiter sees it (and maybe retries)."""

    async def callback(*args: Any, **kwargs: Any) -> bool | JSONDict | list[JSONDict]:
        try:
            return await request(*args, **kwargs)
        except RetryAfter:
            on_flood(scope)
            raise

    return callback


def default_rate_limiter() -> SplitRateLimiter:
    """Telegram's documented limits: ~30 messages/s overall, 20/min per group; 429s are waited out."""
    return SplitRateLimiter(
        AIORateLimiter(group_max_rate=0, max_retries=RETRIES_ON_FLOOD),
        AIORateLimiter(overall_max_rate=0, max_retries=RETRIES_ON_FLOOD),
    )


def build_application(
    config: TelegramConfig,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[int] | None = None,
) -> TelegramApp:
    """A configured but not yet started ``Application``; handlers are added by :mod:`.runtime`.

    ``request``/``get_updates_request`` replace the network layer (tests pass a fake Bot API);
    ``rate_limiter`` defaults to :func:`default_rate_limiter`.
    """
    # Opt into PTB's future ``timedelta`` durations (retry_after_seconds reads both), so that every 429
    # does not print a deprecation warning into the operator's log.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    builder = (
        Application.builder()
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .rate_limiter(rate_limiter or default_rate_limiter())
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    return builder.build()


class RedactToken(logging.Filter):
    """Replace the bot token in every log record: a token in a log file is a stolen bot.

    PTB and httpx put request URLs (which contain the token) into some messages and tracebacks.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse a pre-rendered ``exc_text``, so the traceback is redacted once, here.
            record.exc_text = (
                logging.Formatter().formatException(record.exc_info).replace(self.token, "<token>")
            )
        return True


def protect_logs(token: str) -> None:
    """Install :class:`RedactToken` on the root handlers and keep httpx's per-request URL lines out."""
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def in_background(context: ContextTypes.DEFAULT_TYPE, call: Coroutine[Any, Any, object], what: str) -> None:
    """Run a Telegram call without holding up the update loop; a failure is logged, not raised.

    Updates are handled one at a time (so each customer's messages keep their order); awaiting Telegram
    inside a handler would make every other chat wait for that round trip.
    """

    async def run() -> None:
        try:
            await call
        except TelegramError as error:
            log.warning("%s failed: %s", what, error)

    context.application.create_task(run())
