"""The web channel's ASGI app: the sample page, widget.js, and the widget's endpoints.

Paths: ``/`` (the sample company page), ``/widget.js``, ``/widget/...`` (token, WebSocket, the SSE + POST
fallback, the sample page's stylesheet), ``/healthz``. Other surfaces (the staff inbox, ``/readyz`` and
``/metrics`` from :mod:`.health`) plug in their routes with ``extra_routes``. The protocol is described in docs/web.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot.channels.web import health, security
from bot.channels.web.config import MAX_FRAME, MAX_TEXT
from bot.channels.web.protocol import FrameError, Hello, Identify, Ping, Say, parse
from bot.channels.web.visitors import Send as _SendFrame
from bot.channels.web.visitors import Session, WebVisitors

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 30.0
"""Seconds a new WebSocket may take to say who it is before it is closed."""
SSE_KEEPALIVE = 15.0
"""Seconds between comments on an idle event stream, so proxies do not cut it."""
WIDGET_PLACEHOLDER = "/*CAREBOT_LABELS*/null"


def _static(name: str) -> str:
    return resources.files("bot.channels.web").joinpath("static", name).read_text(encoding="utf-8")


def _address(scope_client: tuple[str, int] | None) -> str:
    return scope_client[0] if scope_client else "unknown"


class _Widget:
    """The request handlers, sharing the visitor service and the allowed origins."""

    def __init__(self, visitors: WebVisitors) -> None:
        self.visitors = visitors
        self.origins = visitors.config.origins
        self._widget_js = _static("widget.js")
        self._page = _static("index.html")
        self._page_css = _static("sample-page.css")

    # --- origins -----------------------------------------------------------------------------------------

    def _origin_ok(self, request: Request | WebSocket) -> bool:
        own = security.own_origin(request.headers, request.url.scheme)
        return security.origin_allowed(request.headers.get("origin"), own, self.origins)

    def _cors(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        return security.cors_headers(origin) if origin and self._origin_ok(request) else {}

    def _refused(self) -> JSONResponse:
        return JSONResponse(
            {"type": "error", "code": "origin_refused", "message": "this site may not embed the chat"},
            status_code=403,
        )

    # --- pages and files ---------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        headers = security.page_headers(request.headers.get("host"), secure=request.url.scheme == "https")
        return Response(self._page, media_type="text/html; charset=utf-8", headers=headers)

    async def page_css(self, request: Request) -> Response:
        return Response(
            self._page_css, media_type="text/css; charset=utf-8", headers=dict(security.BASE_HEADERS)
        )

    async def widget_js(self, request: Request) -> Response:
        labels = json.dumps(self.visitors.labels(), ensure_ascii=False).replace("</", "<\\/")
        body = self._widget_js.replace(WIDGET_PLACEHOLDER, labels, 1)
        headers = {
            **security.BASE_HEADERS,
            "Cache-Control": "no-cache",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)

    # --- HTTP endpoints (token, fallback) ---------------------------------------------------------------

    async def preflight(self, request: Request) -> Response:
        if not self._origin_ok(request):
            return self._refused()
        return Response(status_code=204, headers=self._cors(request))

    def _error(self, request: Request, error: FrameError) -> JSONResponse:
        status = {"rate_limited": 429, "bad_token": 401, "frame_too_big": 413}.get(error.code, 400)
        headers = self._cors(request)
        retry = error.extra.get("retry_after")
        if isinstance(retry, int):
            headers["Retry-After"] = str(retry)
        return JSONResponse(error.frame(), status_code=status, headers=headers)

    async def token(self, request: Request) -> Response:
        """``POST /widget/token``: a token for a new visitor (the widget asks once, when first opened)."""
        if not self._origin_ok(request):
            return self._refused()
        try:
            token = await self.visitors.new_token(_address(request.client))
        except FrameError as error:
            return self._error(request, error)
        return JSONResponse({"token": token}, headers={**self._cors(request), "Cache-Control": "no-store"})

    async def _session_from_header(self, request: Request, language: str | None = None) -> Session:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        token = token or request.query_params.get("token", "")
        visitor = await self.visitors.visitor(token)
        return await self.visitors.open(visitor, language, _address(request.client))

    async def send(self, request: Request) -> Response:
        """``POST /widget/send`` (fallback): one client frame; answers after the turn with the frames."""
        if not self._origin_ok(request):
            return self._refused()
        body = await request.body()
        frames: list[dict[str, object]] = []

        async def collect(frame: dict[str, object]) -> None:
            frames.append(frame)

        try:
            session = await self._session_from_header(request)
            frame = parse(body)
            if isinstance(frame, Say):
                await self.visitors.say(session, frame, collect)
            elif isinstance(frame, Identify):
                frames.append({"type": "identified", "token": await self.visitors.identify(session, frame)})
            elif isinstance(frame, Ping):
                frames.append({"type": "pong"})
            else:
                raise FrameError("unknown_type", "send 'hello' on the event stream, not here")
        except FrameError as error:
            if frames:  # stored before the error: report both
                return JSONResponse([*frames, error.frame()], headers=self._cors(request))
            return self._error(request, error)
        return JSONResponse(frames, headers=self._cors(request))

    async def events(self, request: Request) -> Response:
        """``GET /widget/events?token=…&after=N`` (fallback): the conversation as Server-Sent Events.

        The event id is the sequence number, so a reconnecting ``EventSource`` resumes by itself
        (``Last-Event-ID``). ``mode=poll`` is long polling for proxies that hold streams back: the response
        ends as soon as it carried new messages, or after 15 quiet seconds.
        """
        if not self._origin_ok(request):
            return self._refused()
        try:
            session = await self._session_from_header(request, request.query_params.get("lang"))
            after = int(request.headers.get("last-event-id") or request.query_params.get("after") or 0)
        except FrameError as error:
            return self._error(request, error)
        except ValueError:
            return self._error(request, FrameError("bad_frame", "'after' must be a whole number"))
        welcome = await self._welcome(session)

        poll = request.query_params.get("mode") == "poll"

        async def stream() -> AsyncIterator[str]:
            yield f"event: welcome\ndata: {json.dumps(welcome)}\n\n"
            with self.visitors.channel.listen(session.visitor.id) as event:
                cursor, status, waited = after, None, False
                while True:
                    event.clear()
                    frames = await self.visitors.since(session, cursor)
                    for frame in frames:
                        cursor = int(str(frame["seq"]))
                        yield f"id: {cursor}\nevent: message\ndata: {json.dumps(frame, ensure_ascii=False)}\n\n"
                    # Every change of a ticket the customer should notice comes with a message (hand-over,
                    # reply, resolution): the bar is read again only then, not on every wake-up.
                    current = await self.visitors.status(session) if frames or status is None else status
                    if current != status:
                        status = current
                        yield f"event: status\ndata: {json.dumps(current, ensure_ascii=False)}\n\n"
                    if poll and (frames or waited):
                        return  # long polling: one answer per request
                    waited = True
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), SSE_KEEPALIVE)
                        continue
                    if poll:
                        return
                    yield ": keep-alive\n\n"

        headers = {**self._cors(request), "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def _welcome(self, session: Session) -> dict[str, object]:
        return {
            "type": "welcome",
            "token": await self.visitors.renew(session),
            "last_seq": await self.visitors.last_seq(session),
            "limits": {"text": MAX_TEXT, "frame": MAX_FRAME},
        }

    # --- WebSocket ---------------------------------------------------------------------------------------

    async def socket(self, websocket: WebSocket) -> None:
        if not self._origin_ok(websocket):
            await websocket.close(code=1008)  # before accept: the browser sees HTTP 403
            return
        await websocket.accept()
        lock = asyncio.Lock()

        async def send(frame: dict[str, object]) -> None:
            async with lock:
                if websocket.application_state is WebSocketState.CONNECTED:
                    await websocket.send_text(json.dumps(frame, ensure_ascii=False))

        try:
            opened = await self._hello(websocket, send)
            if opened is None:
                return
            await self._serve(websocket, *opened, send)
        except WebSocketDisconnect:
            pass

    async def _receive(self, websocket: WebSocket) -> str | bytes | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes")

    async def _hello(self, websocket: WebSocket, send: _SendFrame) -> tuple[Session, int] | None:
        try:
            raw = await asyncio.wait_for(self._receive(websocket), HELLO_TIMEOUT)
        except TimeoutError:
            await websocket.close(code=1008)
            return None
        try:
            frame = parse(raw or "")
            if not isinstance(frame, Hello):
                raise FrameError("hello_first", "the first frame must be 'hello'")
            visitor = await self.visitors.visitor(frame.token)
        except FrameError as error:
            await send(error.frame())
            await websocket.close(code=4001 if error.code == "bad_token" else 1008)
            return None
        session = await self.visitors.open(visitor, frame.lang, _address(websocket.client))
        await send(await self._welcome(session))
        return session, frame.last_seq

    async def _serve(self, websocket: WebSocket, session: Session, cursor: int, send: _SendFrame) -> None:

        async def pump(event: asyncio.Event) -> None:
            nonlocal cursor
            status: dict[str, object] | None = None
            try:
                while True:
                    event.clear()
                    frames = await self.visitors.since(session, cursor)
                    for frame in frames:
                        cursor = int(str(frame["seq"]))
                        await send(frame)
                    # The bar changes with a message (hand-over, reply, resolution): read it only then.
                    current = await self.visitors.status(session) if frames or status is None else status
                    if current != status:
                        status = current
                        await send(current)
                    if len(frames) < 200:
                        await event.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The client went away mid-send, or storage failed: close, and the widget reconnects and
                # replays from the last number it has shown. Never go silent on an open connection.
                log.debug("pump for visitor %s stopped", session.visitor.id[:8], exc_info=True)
                with contextlib.suppress(Exception):
                    await websocket.close(code=1011)

        with self.visitors.channel.listen(session.visitor.id) as event:
            pumping = asyncio.create_task(pump(event), name=f"web-pump-{session.visitor.id[:8]}")
            try:
                while True:
                    raw = await self._receive(websocket)
                    if raw is not None and len(raw) > MAX_FRAME:
                        await send(
                            FrameError("frame_too_big", f"a frame may be at most {MAX_FRAME} bytes").frame()
                        )
                        await websocket.close(code=1009)
                        return
                    if not await self._dispatch(session, raw or "", send):
                        await websocket.close(code=1011)
                        return
            finally:
                pumping.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pumping

    async def _dispatch(self, session: Session, raw: str | bytes, send: _SendFrame) -> bool:
        """Handle one client frame; False when the server failed (the caller closes the connection, the
        client reconnects and sends its unacknowledged messages again, which de-duplication makes safe)."""
        try:
            frame = parse(raw)
            if isinstance(frame, Say):
                await send({"type": "typing", "on": True})
                try:
                    await self.visitors.say(session, frame, send)
                finally:
                    await send({"type": "typing", "on": False})
            elif isinstance(frame, Identify):
                await send({"type": "identified", "token": await self.visitors.identify(session, frame)})
            elif isinstance(frame, Ping):
                await send({"type": "pong"})
            else:
                raise FrameError("bad_frame", "'hello' only once, as the first frame")
        except FrameError as error:
            await send(error.frame())
        except WebSocketDisconnect:
            raise
        except Exception:
            log.exception("a web visitor's frame failed; closing so the widget reconnects and resends")
            return False
        return True


def create_app(visitors: WebVisitors, *, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The web channel's ASGI app; ``extra_routes`` (the staff inbox's) are served beside it. Every route,
    the inbox's too, is behind the Host check (:class:`security.HostGuard`)."""
    widget = _Widget(visitors)
    routes: list[BaseRoute] = [
        Route("/", widget.page, methods=["GET", "HEAD"]),
        Route("/widget.js", widget.widget_js, methods=["GET", "HEAD"]),
        Route("/widget/sample-page.css", widget.page_css, methods=["GET", "HEAD"]),
        Route("/widget/token", widget.token, methods=["POST"]),
        Route("/widget/token", widget.preflight, methods=["OPTIONS"]),
        Route("/widget/send", widget.send, methods=["POST"]),
        Route("/widget/send", widget.preflight, methods=["OPTIONS"]),
        Route("/widget/events", widget.events, methods=["GET"]),
        WebSocketRoute("/widget/ws", widget.socket),
        Route("/healthz", health.alive, methods=["GET", "HEAD"]),
        *extra_routes,
    ]
    config = visitors.config
    guard = Middleware(
        security.HostGuard,
        listen=config.host,
        allowed=config.allowed_hosts,
        exempt=health.unguarded_paths(config.metrics_token),
    )
    return Starlette(routes=routes, middleware=[guard])
