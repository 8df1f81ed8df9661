"""Authentication on every staff endpoint, CSRF and origin checks, session cookies, login throttling."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.channels.web.inbox.auth import COOKIE
from tests.channels.web.inbox.conftest import PASSWORD, Desk


def _endpoints(desk: Desk) -> list[tuple[str, str]]:
    """Every (method, concrete path) the inbox serves under /api, from the app's own route table."""
    found = []
    for route in desk.app.router.routes:
        if isinstance(route, Route) and route.path.startswith("/api"):
            path = re.sub(r"\{ticket_id:int\}", "1", route.path).replace("{rest:path}", "anything")
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_every_api_endpoint_refuses_without_credentials(desk: Desk) -> None:
    desk.account()
    desk.escalate()
    endpoints = _endpoints(desk)
    assert len(endpoints) >= 16  # me, list, detail, 9 actions, stats, events, and the catch-all's methods
    for method, path in endpoints:
        for headers in ({}, {"Authorization": "Bearer cbt_wrong"}, {"Authorization": "Basic QWxpY2U6eA=="}):
            response = desk.client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["content-type"] == "application/json"
            assert "not logged in" in response.json()["error"]
    desk.client.cookies.set(COOKIE, "made-up-session")
    assert desk.client.get("/api/me").status_code == 401


def test_a_token_or_a_session_gets_in(desk: Desk) -> None:
    desk.account("Alice", admin=True)
    assert desk.client.get("/api/me", headers=desk.token()).json() == {
        "name": "Alice",
        "admin": True,
        "csrf_token": None,
    }
    csrf = desk.login()
    assert desk.client.get("/api/me").json()["csrf_token"] == csrf["X-CSRF-Token"]


def test_every_change_needs_the_csrf_token_and_a_known_origin(desk: Desk) -> None:
    desk.account()
    ticket = desk.escalate()
    csrf = desk.login()
    changes = [(m, p) for m, p in _endpoints(desk) if m == "POST" and "anything" not in p]
    assert len(changes) == 9
    for method, path in changes:
        path = path.replace("/1/", f"/{ticket}/")
        for headers in ({}, {"X-CSRF-Token": "wrong"}, {**csrf, "Origin": "https://evil.example"}):
            response = desk.client.request(method, path, headers=headers, json={})
            assert response.status_code == 403, (path, headers)
    # Nothing changed on the way.
    after = desk.run(desk.db.ticket, ticket)
    assert after is not None and after.assignee is None
    same_origin = {**csrf, "Origin": "http://testserver"}
    assert desk.client.post(f"/api/tickets/{ticket}/claim", headers=same_origin).status_code == 200


def test_api_tokens_need_no_csrf(desk: Desk) -> None:
    desk.account()
    ticket = desk.escalate()
    response = desk.client.post(f"/api/tickets/{ticket}/claim", headers=desk.token())
    assert response.status_code == 200
    assert response.json()["ticket"]["assignee"] == "Alice"


def test_login_form_sets_a_safe_cookie_and_logout_ends_the_session(desk: Desk) -> None:
    desk.account()
    page = desk.client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    response = desk.client.post(
        "/login", data={"name": "Alice", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    inbox = desk.client.get("/inbox")
    assert inbox.status_code == 200 and "/inbox/static/inbox.js" in inbox.text
    assert inbox.headers["x-frame-options"] == "DENY"
    csrf = desk.client.get("/api/me").json()["csrf_token"]
    assert desk.client.post("/logout").status_code == 403  # a foreign page cannot log people out
    assert desk.client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert desk.client.get("/api/me").status_code == 401
    assert desk.client.get("/inbox", follow_redirects=False).headers["location"] == "/login"


def test_the_cookie_is_secure_behind_https(desk: Desk) -> None:
    desk.account()
    response = desk.client.post(
        "/login",
        json={"name": "Alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "Origin": "https://testserver"},
    )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_passwords_are_refused_and_then_throttled(desk: Desk) -> None:
    desk.account()
    for _ in range(5):
        wrong = desk.client.post("/login", data={"name": "alice", "password": "guess guess guess"})
        assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
        assert COOKIE not in wrong.headers.get("set-cookie", "")
    throttled = desk.client.post("/login", json={"name": "Alice", "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "Too many failed logins for this account. Try again in 15 minutes."
    # Another account from the same address may still log in: the address limit is higher.
    desk.account("Bob")
    assert desk.client.post("/login", json={"name": "Bob", "password": PASSWORD}).status_code == 200


def test_one_address_guessing_many_names_is_throttled(desk: Desk) -> None:
    desk.account()
    for n in range(20):
        assert desk.client.post("/login", json={"name": f"user{n}", "password": "x" * 12}).status_code == 401
    response = desk.client.post("/login", json={"name": "Alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "for your address" in response.json()["error"]


def test_logins_from_a_foreign_origin_and_bad_bodies_are_refused(desk: Desk) -> None:
    desk.account()
    foreign = desk.client.post(
        "/login", json={"name": "Alice", "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    bad = desk.client.post("/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    wrong_type = desk.client.post("/login", json={"name": ["Alice"], "password": PASSWORD})
    assert wrong_type.status_code == 422
    huge = desk.client.post("/login", content=b"x" * 70_000)
    assert huge.status_code == 413


@pytest.mark.parametrize("setting", [True, False])
def test_secure_cookies_setting_overrides_the_guess(desk: Desk, setting: bool) -> None:
    from tests.channels.web.inbox.conftest import make_app

    desk.account()
    app = make_app(desk.db, desk.clock, secure_cookies=setting)
    client = TestClient(app, base_url="http://testserver")
    client.portal = desk.client.portal
    response = client.post(
        "/login", json={"name": "Alice", "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"}
    )
    assert ("Secure" in response.headers["set-cookie"]) is setting


def test_an_allowed_origin_may_send_changes(desk: Desk) -> None:
    from tests.channels.web.inbox.conftest import make_app

    desk.account()
    ticket = desk.escalate()
    app = make_app(desk.db, desk.clock, allowed_origins=("https://desk.example",))
    client = TestClient(app, base_url="http://testserver")
    client.portal = desk.client.portal
    csrf = desk.login(client=client)
    refused = client.post(f"/api/tickets/{ticket}/claim", headers={**csrf, "Origin": "https://other.example"})
    assert refused.status_code == 403
    allowed = client.post(f"/api/tickets/{ticket}/claim", headers={**csrf, "Origin": "https://desk.example"})
    assert allowed.status_code == 200


def test_the_login_page_echoes_the_name_as_text_and_focuses_the_password(desk: Desk) -> None:
    hostile = '"><script>alert(1)</script>'
    response = desk.client.post("/login", data={"name": hostile, "password": "wrong wrong wrong"})
    assert response.status_code == 401
    assert "<script>alert" not in response.text
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert re.search(r'id="password"[^>]*autofocus', response.text)
    assert not re.search(r'id="name"[^>]*autofocus', response.text)
    assert re.search(r'id="name"[^>]*autofocus', desk.client.get("/login").text)
