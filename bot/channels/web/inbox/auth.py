"""Who is asking: a session cookie from the login form, or an API token; and whether a change is genuine.

* The session cookie is ``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (other sites'
  requests do not carry it) and ``Secure`` behind https. It holds a random id; the database has its hash.
* Every change made with a session (POST) must carry the session's CSRF token in ``X-CSRF-Token`` and, when
  the browser names an ``Origin``, come from the page's own origin or ``InboxDeps.allowed_origins``.
  Requests with ``Authorization: Bearer`` carry no cookie a foreign page could abuse, so they are exempt.
* Logins are throttled per account and per address (:class:`bot.service.accounts.LoginThrottle`).
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.channels.web.inbox.deps import InboxState
from bot.channels.web.inbox.http import ApiError, error, read_body, secured
from bot.service.accounts import SESSION_LIFETIME
from bot.service.staff import StaffError

COOKIE = "carebot_staff"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Agent:
    """The logged-in staff member: the name recorded on every action."""

    name: str
    admin: bool
    csrf_token: str | None
    """None when the request authenticated with an API token (no CSRF applies)."""
    session_id: str | None


Handler = Callable[[Request, Agent], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


async def authenticate(state: InboxState, request: Request) -> Agent | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        account = await state.accounts.check_token(token.strip())
        return None if account is None else Agent(account.name, account.admin, None, None)
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    session = await state.accounts.session(cookie)
    if session is None:
        return None
    return Agent(session.account.name, session.account.admin, session.csrf_token, cookie)


def scheme(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded or request.url.scheme


def own_origin(request: Request) -> str:
    return f"{scheme(request)}://{request.headers.get('host') or request.url.netloc}"


def origin_allowed(state: InboxState, request: Request) -> bool:
    """A browser names the page that sent a POST in ``Origin``; a missing header is a non-browser client."""
    origin = request.headers.get("origin")
    return origin is None or origin in (own_origin(request), *state.deps.allowed_origins)


def api(state: InboxState, handler: Handler, *, change: bool) -> Endpoint:
    """Wrap a JSON handler: authenticate (401), check CSRF and origin on changes (403), turn refusals
    into JSON errors with a sentence to read."""

    async def endpoint(request: Request) -> Response:
        agent = await authenticate(state, request)
        if agent is None:
            return error(
                401,
                "not logged in: log in at /login (session cookie) or send Authorization: Bearer <token>",
                **{"WWW-Authenticate": "Bearer"},
            )
        if change and agent.csrf_token is not None:
            if not origin_allowed(state, request):
                return error(403, "requests from this origin may not change the inbox")
            sent = request.headers.get(CSRF_HEADER, "")
            if not secrets.compare_digest(sent.encode(), agent.csrf_token.encode()):
                return error(403, f"missing or wrong {CSRF_HEADER} header (GET /api/me returns the token)")
        try:
            return await handler(request, agent)
        except ApiError as problem:
            return error(problem.status, problem.message)
        except StaffError as problem:
            return error(409, str(problem))

    return endpoint


# --- login and logout ------------------------------------------------------------------------------------

LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · carebot inbox</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/inbox/static/inbox.css">
</head>
<body class="login">
<main>
<h1>carebot inbox</h1>
<form method="post" action="/login">
{message}
<label for="name">Name</label>
<input id="name" name="name" autocomplete="username" required value="{name}"{focus_name}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{focus_password}>
<button type="submit">Log in</button>
</form>
<p class="hint">No account yet? An administrator runs <code>python -m bot staff add NAME</code>.</p>
</main>
</body>
</html>
"""


def login_page(message: str = "", name: str = "", status: int = 200) -> Response:
    alert = f'<p class="alert" role="alert">{html.escape(message)}</p>' if message else ""
    page = LOGIN_PAGE.format(
        message=alert,
        name=html.escape(name, quote=True),
        focus_name="" if name else " autofocus",  # after a failed try the name is there: on to the password
        focus_password=" autofocus" if name else "",
    )
    return secured(Response(page, status_code=status, media_type="text/html"), page=True)


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


async def _credentials(request: Request) -> tuple[str, str]:
    body = await read_body(request)
    if _wants_json(request):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(422, 'send {"name": ..., "password": ...}')
        name, password = data.get("name"), data.get("password")
    else:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        name, password = (fields.get(key, [""])[0] for key in ("name", "password"))
    if not isinstance(name, str) or not isinstance(password, str):
        raise ApiError(422, "name and password must be text")
    return name, password


def login_routes(state: InboxState) -> tuple[Endpoint, Endpoint, Endpoint]:
    """``GET /login``, ``POST /login`` and ``POST /logout``."""

    async def show(request: Request) -> Response:
        if await authenticate(state, request) is not None:
            return secured(RedirectResponse("/inbox", status_code=303))
        return login_page()

    async def submit(request: Request) -> Response:
        as_json = _wants_json(request)

        def refuse(status: int, message: str, name: str = "") -> Response:
            return error(status, message) if as_json else login_page(message, name, status)

        if not origin_allowed(state, request):
            return refuse(403, "Logins from this origin are not accepted.")
        try:
            name, password = await _credentials(request)
        except ApiError as problem:
            return refuse(problem.status, problem.message)
        address = request.client.host if request.client else "unknown"
        wait = state.throttle.blocked(name, address)
        if wait is not None:
            return refuse(429, wait, name)
        attempt = state.throttle.attempt(name, address)
        account = await state.accounts.check_password(name, password) if name and password else None
        if account is None:
            return refuse(401, "Wrong name or password.", name)
        state.throttle.succeeded(name, address, attempt)
        session_id, session = await state.accounts.start_session(account)
        response: Response
        if as_json:
            response = JSONResponse({"name": account.name, "csrf_token": session.csrf_token})
        else:
            response = RedirectResponse("/inbox", status_code=303)
        secure = state.deps.secure_cookies
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=scheme(request) == "https" if secure is None else secure,
        )
        return secured(response)

    async def logout(request: Request) -> Response:
        agent = await authenticate(state, request)
        if agent is not None and agent.session_id is not None:
            sent = request.headers.get(CSRF_HEADER, "")
            if not origin_allowed(state, request) or not secrets.compare_digest(
                sent.encode(), (agent.csrf_token or "").encode()
            ):
                return error(403, f"missing or wrong {CSRF_HEADER} header")
            await state.accounts.end_session(agent.session_id)
            state.presence.left(agent.name)
        response = JSONResponse({"logged_out": True})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return secured(response)

    return show, submit, logout
