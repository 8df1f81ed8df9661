"""Assembles the inbox's routes from its parts (pages, login, API, live updates, OpenAPI)."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.web.inbox.api import operations
from bot.channels.web.inbox.auth import Agent, api, authenticate, login_routes
from bot.channels.web.inbox.deps import InboxDeps, InboxState
from bot.channels.web.inbox.http import error, secured
from bot.channels.web.inbox.live import live_endpoint
from bot.channels.web.inbox.openapi import EVENTS_PATH, document

STATIC = {
    "inbox.js": "text/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
}


def _static(name: str) -> bytes:
    return resources.files("bot.channels.web.inbox").joinpath("static", name).read_bytes()


def inbox_routes(deps: InboxDeps) -> list[BaseRoute]:
    state = InboxState.build(deps)
    files = {name: _static(name) for name in STATIC}
    page = _static("inbox.html")
    ops = operations(state)
    spec = document(ops, extra_paths=EVENTS_PATH)

    async def inbox(request: Request) -> Response:
        if await authenticate(state, request) is None:
            return secured(RedirectResponse("/login", status_code=303))
        return secured(Response(page, media_type="text/html; charset=utf-8"), page=True)

    async def static(request: Request) -> Response:
        name = str(request.path_params["name"])
        if name not in files:
            return secured(Response("not found", status_code=404, media_type="text/plain"))
        response = Response(files[name], media_type=STATIC[name])
        secured(response)
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def openapi(request: Request) -> Response:
        return secured(JSONResponse(spec))

    async def unknown(request: Request, agent: Agent) -> Response:
        return error(404, f"no API endpoint {request.method} {request.url.path}; see /openapi.json")

    show_login, submit_login, logout = login_routes(state)
    routes: list[BaseRoute] = [
        Route("/inbox", inbox, methods=["GET"]),
        Route("/inbox/static/{name}", static, methods=["GET"]),
        Route("/login", show_login, methods=["GET"]),
        Route("/login", submit_login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/api/events", api(state, live_endpoint(state), change=False), methods=["GET"]),
    ]
    routes += [
        Route(op.path, api(state, op.handler, change=op.change), methods=[op.method], name=op.name)
        for op in ops
    ]
    routes.append(
        Route(
            "/api/{rest:path}",
            api(state, unknown, change=False),
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        )
    )
    return routes
