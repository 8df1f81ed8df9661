"""Security headers for the bot's own pages, and the origin rules for everything the widget calls.

Reusable by every web surface (the sample page, the staff inbox): one place decides the headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.datastructures import Headers

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
