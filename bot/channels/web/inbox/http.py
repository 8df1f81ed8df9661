"""Plumbing shared by the inbox's routes: JSON errors, bounded bodies, security headers."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY = 64 * 1024
"""Bytes of a request body; a reply is at most 4,000 characters, so anything near this is not a reply."""

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The inbox's pages load only their own script and style: no inline code, no other origin, no frames."""

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """A request the API refuses: the status and a sentence for the agent (or the script's author)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def secured(response: Response, *, page: bool = False) -> Response:
    """Headers every inbox response carries: never cached, never sniffed, never framed, no referrer to other sites."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make browsers send Origin: null
    response.headers["X-Frame-Options"] = "DENY"
    if page:
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def error(status: int, message: str, **extra: str) -> Response:
    return secured(JSONResponse({"error": message}, status_code=status, headers=extra or None))


def ok(model: BaseModel, status: int = 200) -> Response:
    return secured(JSONResponse(model.model_dump(mode="json"), status_code=status))


async def read_body(request: Request) -> bytes:
    """The body, refused early beyond :data:`MAX_BODY` (by its declared length, then as it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"the request body is larger than {MAX_BODY // 1024} kB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, f"the request body is larger than {MAX_BODY // 1024} kB")
    return body


async def json_body(request: Request, model: type[M]) -> M:
    """The body as ``model``; an empty body is ``{}`` (actions whose fields all have defaults)."""
    body = await read_body(request)
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        first = problem.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(422, f"{where}: {first['msg']}") from None
