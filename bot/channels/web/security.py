"""Security headers for the bot's own pages, and the origin rules for everything the widget calls.

Reusable by every web surface (the sample page, the staff inbox): one place decides the headers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose

BASE_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def page_csp(*, connect: Iterable[str] = ()) -> str:
    """A strict Content-Security-Policy: only the bot's own scripts and styles, no inline code at all.

    ``connect`` adds WebSocket origins (``ws://host``) for browsers that do not count them as 'self'.
    """
    extra = " ".join(connect)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {extra}".rstrip()
        + "; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    )


def page_headers(host: str | None, *, secure: bool = False) -> dict[str, str]:
    """Headers for an HTML page of the bot's own (sample page, inbox)."""
    connect = [f"{'wss' if secure else 'ws'}://{host}"] if host else []
    return {**BASE_HEADERS, "Content-Security-Policy": page_csp(connect=connect), "X-Frame-Options": "DENY"}


def own_origin(headers: Headers, scheme: str) -> str | None:
    """The origin the request was sent to (``http://127.0.0.1:8080``), from its Host header."""
    host = headers.get("host")
    if not host:
        return None
    web_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{web_scheme}://{host}".lower()


def origin_allowed(origin: str | None, own: str | None, allowed: Iterable[str]) -> bool:
    """Whether a browser page at ``origin`` may talk to the widget endpoints.

    No Origin header means no browser page (a script, curl, the benchmark): nothing for a browser-side
    attacker to borrow, so it passes; the visitor token still decides whose conversation it reads.
    """
    if origin is None:
        return True
    origin = origin.lower()
    return origin == own or origin in set(allowed)


def cors_headers(origin: str) -> dict[str, str]:
    """For an allowed cross-origin caller of the widget's HTTP endpoints (no cookies: tokens travel in
    headers, so ``Allow-Credentials`` stays off)."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


# --- the Host header (DNS rebinding) -----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: only this machine can reach the bot there."""
    name = host.strip().lower().strip("[]").rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str | None) -> str | None:
    """The name in a ``Host`` header, without its port (``[::1]:8080`` → ``::1``); None if malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        name = value[1:end]
    elif value.count(":") > 1:  # an IPv6 address without brackets is not a valid Host
        return None
    else:
        name = value.split(":", 1)[0]
    name = name.rstrip(".")
    if not name or any(c in name for c in "/@ \t"):
        return None
    return name


def host_allowed(header: str | None, listen: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a request with this ``Host`` header may reach the bot (the guard against DNS rebinding).

    A bot listening on loopback (the default ``127.0.0.1``) believes it is reachable only from this machine,
    and its inbox and widget trust that. A page on ``http://evil.example`` whose name an attacker then points
    at 127.0.0.1 would be same-origin with the bot in the victim's browser; its requests carry
    ``Host: evil.example``, so they are refused. Allowed: the listening address, loopback names and
    addresses, and ``BOT_WEB_ALLOWED_HOSTS``. The port is not compared: it does not help against rebinding
    (the attacker picks the port in their URL) and ``BOT_WEB_PORT=0`` does not know it in advance. On other
    addresses (``0.0.0.0`` in a container) every name passes unless ``BOT_WEB_ALLOWED_HOSTS`` is set.
    """
    names = {name.lower() for name in allowed}
    if not is_loopback(listen) and not names:
        return True
    name = host_name(header)
    if name is None:
        return False
    return name in names or is_loopback(name) or name == listen.strip().lower().strip("[]")


class HostGuard:
    """ASGI middleware refusing requests and WebSocket upgrades whose ``Host`` :func:`host_allowed` refuses:
    HTTP with 400, a WebSocket with a 400 denial response where the server supports one (uvicorn does),
    else a close before accepting."""

    def __init__(
        self, app: ASGIApp, *, listen: str, allowed: Iterable[str] = (), exempt: Iterable[str] = ()
    ) -> None:
        """``exempt``: HTTP paths served whatever the Host (health probes, see bot/channels/web/health.py)."""
        self.app = app
        self.listen = listen
        self.allowed = tuple(allowed)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host")
        exempt = scope["type"] == "http" and scope.get("path") in self.exempt
        if exempt or host_allowed(header, self.listen, self.allowed):
            await self.app(scope, receive, send)
            return
        refusal = PlainTextResponse(
            f"unexpected Host header {(header or '')[:100]!r}: this bot answers to {self.listen} and localhost"
            " (more names: BOT_WEB_ALLOWED_HOSTS)",
            status_code=400,
        )
        if scope["type"] == "http":
            await refusal(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await websocket.send_denial_response(refusal)
        else:
            await WebSocketClose(code=1008, reason="unexpected Host header")(scope, receive, send)
