"""``/healthz``, ``/readyz`` and ``/metrics`` on the web port every ``python -m bot run`` serves.

- ``/healthz``: the process and its event loop are alive (200 and ``{"status": "ok"}``, nothing else is
  checked). A container orchestrator restarts a process that stops answering it.
- ``/readyz``: this replica can serve customers: the intents folder is loaded and the database answers a
  trivial query within :data:`READY_TIMEOUT`. 503 with a short reason otherwise; a load balancer (Caddy in
  deploy/) sends traffic only to ready replicas.
- ``/metrics``: Prometheus' text format (:mod:`bot.service.metrics`). With ``BOT_METRICS_TOKEN`` set it
  requires ``Authorization: Bearer <token>``.

The two probes pass the Host check (:class:`~bot.channels.web.security.HostGuard`) whatever the ``Host``
header: probes come from places the operator cannot list in ``BOT_WEB_ALLOWED_HOSTS`` (a proxy's health
check names the replica by its container address), and a DNS-rebinding page learns nothing from "ok". So
does ``/metrics`` when a token protects it (a rebinding page cannot know the token); without a token it
stays behind the Host check, as every other page. docs/scaling.md explains the choices.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.content.brain import Brain
from bot.service.metrics import CONTENT_TYPE, Metrics
from bot.storage import Database, StorageError
from bot.storage.gauges import ping

log = logging.getLogger(__name__)

READY_TIMEOUT = 1.0
"""Seconds the database may take to answer ``SELECT 1`` before the replica reports itself not ready."""

PROBE_PATHS = ("/healthz", "/readyz")
NO_STORE = {"Cache-Control": "no-store"}


def unguarded_paths(metrics_token: str | None) -> tuple[str, ...]:
    """The paths the Host check lets through whatever the ``Host`` header (see the module's docstring)."""
    return (*PROBE_PATHS, "/metrics") if metrics_token else PROBE_PATHS


async def alive(request: Request) -> Response:
    """``GET /healthz``: answered by the event loop itself, so it fails exactly when the loop is stuck."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


class Health:
    """``/readyz`` and ``/metrics`` of one process (``/healthz`` needs nothing and is :func:`alive`)."""

    def __init__(
        self,
        db: Database,
        metrics: Metrics,
        brain: Callable[[], Brain | None],
        *,
        token: str | None = None,
        timeout: float = READY_TIMEOUT,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.brain = brain
        self.token = token
        self.timeout = timeout

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/readyz", self.ready, methods=["GET", "HEAD"]),
            Route("/metrics", self.scrape, methods=["GET"]),
        ]

    async def ready(self, request: Request) -> Response:
        reason = await self._not_ready()
        if reason is not None:
            return JSONResponse(
                {"status": "unavailable", "reason": reason}, status_code=503, headers=NO_STORE
            )
        return JSONResponse({"status": "ready"}, headers=NO_STORE)

    async def _not_ready(self) -> str | None:
        if self.brain() is None:
            return "the intents folder is not loaded"
        try:
            await asyncio.wait_for(ping(self.db), self.timeout)
        except TimeoutError:
            return f"the database did not answer within {self.timeout:g} s"
        except StorageError as error:
            return f"the database: {error}"[:200]
        except Exception as error:
            # Driver errors may quote connection details: the class name is enough for a probe, the log
            # (debug: probes come every few seconds) has the rest.
            log.debug("readiness probe: the database failed", exc_info=True)
            return f"the database failed ({type(error).__name__})"
        return None

    async def scrape(self, request: Request) -> Response:
        if self.token is not None and not self._authorised(request):
            return PlainTextResponse(
                "BOT_METRICS_TOKEN is set: send it as 'Authorization: Bearer <token>'",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="carebot metrics"', **NO_STORE},
            )
        body = await self.metrics.exposition(self.db)
        return Response(body, media_type=CONTENT_TYPE, headers=NO_STORE)

    def _authorised(self, request: Request) -> bool:
        assert self.token is not None
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode(), self.token.encode())
