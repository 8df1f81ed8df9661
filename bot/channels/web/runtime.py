"""Serves the web channel with uvicorn inside the bot's own event loop, beside Telegram.

The listening socket is bound before anything starts, so a port in use is one clear line at start-up (and
port 0 gives tests and benchmarks a free port). uvicorn's own signal handling is switched off: the bot's
command line owns SIGINT/SIGTERM and stops every channel through one event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.routing import BaseRoute

from bot.channels.web.app import create_app
from bot.channels.web.channel import NAME, WebChannel
from bot.channels.web.config import MAX_FRAME, WebConfig, WebConfigError
from bot.channels.web.visitors import WebVisitors
from bot.service.delivery import OutboxSender
from bot.service.engine import ConversationService
from bot.storage import Database
from bot.storage.notify import Notifications

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the command line handles signals for all channels


class WebServer:
    def __init__(
        self,
        db: Database,
        conversation: ConversationService,
        config: WebConfig,
        *,
        extra_routes: Sequence[BaseRoute] = (),
        notifications: Notifications | None = None,
    ) -> None:
        self.config = config
        self.notifications = notifications or Notifications(db)
        self.channel = WebChannel(self.notifications)
        self.sender = OutboxSender(db, {NAME: self.channel}, metrics=conversation.metrics)
        self.visitors = WebVisitors(db, conversation, self.channel, config, wake=self.sender.wake)
        self.app = create_app(self.visitors, extra_routes=extra_routes)
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None

    @property
    def running(self) -> bool:
        """The server accepts connections (for health checks)."""
        return self._server is not None and self._server.started and not self._server.should_exit

    def bind(self) -> socket.socket:
        """Bind the listening socket now; :class:`WebConfigError` names the variable when that fails."""
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as error:
            sock.close()
            raise WebConfigError(
                "BOT_WEB_PORT", f"cannot listen on {self.config.host}:{self.config.port}: {error.strerror}"
            ) from None
        sock.listen(512)
        sock.setblocking(False)
        self._socket = sock
        return sock

    @property
    def port(self) -> int:
        assert self._socket is not None, "bind() first"
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; open connections are closed, the outbox round finishes."""
        sock = self._socket or self.bind()
        server = self._server = _Server(
            uvicorn.Config(
                self.app,
                log_level=logging.getLevelName(max(logging.getLogger().level, logging.WARNING)).lower(),
                access_log=False,
                log_config=None,  # uvicorn's records go through the root handler (BOT_LOG_FORMAT=json too)
                lifespan="off",
                ws_max_size=MAX_FRAME * 2,
                ws_ping_interval=20.0,
                ws_ping_timeout=20.0,
                timeout_graceful_shutdown=2,
                server_header=False,
            )
        )
        delivery = asyncio.create_task(self.sender.run(stop, interval=1.0), name="web-outbox")
        listening = asyncio.create_task(self.notifications.run(stop), name="web-wake-ups")
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="web-server")
        waiting = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([waiting, serving], return_when=asyncio.FIRST_COMPLETED)
            if serving.done() and not stop.is_set():
                serving.result()  # uvicorn failed: raise its error
                raise RuntimeError("the web server stopped on its own")
        finally:
            waiting.cancel()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            sock.close()
