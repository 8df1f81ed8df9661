"""The Host check against DNS rebinding, on the app ``python -m bot`` serves (widget and inbox together).

Through Starlette's TestClient with the Host header set per request: the bot listens on 127.0.0.1 unless
a test says otherwise, as by default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient, WebSocketDenialResponse

from bot.channels.web.config import WebConfig, WebConfigError, load
from bot.channels.web.security import host_allowed, host_name
from bot.cli.run import web_service
from bot.content.brain import Brain
from bot.storage import Database
from tests.channels.web.conftest import small_content

EVIL = "evil.example:8080"


@contextlib.contextmanager
def served(tmp_path: Path, **config: Any) -> Iterator[tuple[TestClient, Database]]:
    """The widget with the inbox beside it, built by ``bot.cli.run.web_service``; nothing is bound."""
    shell = Starlette()
    with TestClient(shell, base_url="http://127.0.0.1:8080") as client:
        assert client.portal is not None
        db = client.portal.call(Database.open, tmp_path / "bot.db")
        try:
            _, server = web_service(db, Brain.build(small_content()), WebConfig(**config))
            shell.router.routes.append(Mount("/", app=server.app))
            yield client, db
        finally:
            client.portal.call(db.close)


REQUESTS = [
    ("GET", "/"),
    ("GET", "/widget.js"),
    ("POST", "/widget/token"),
    ("GET", "/widget/events"),
    ("POST", "/widget/send"),
    ("GET", "/inbox"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/api/me"),
    ("GET", "/api/openapi.json"),
]


def test_a_rebound_name_is_refused_on_every_widget_and_inbox_endpoint(tmp_path: Path) -> None:
    with served(tmp_path) as (client, _):
        for method, path in REQUESTS:
            response = client.request(method, path, headers={"Host": EVIL}, follow_redirects=False)
            assert response.status_code == 400, (method, path, response.status_code)
            assert "Host" in response.text and "BOT_WEB_ALLOWED_HOSTS" in response.text
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect("/widget/ws", headers={"Host": EVIL}),
        ):
            pass  # pragma: no cover - never accepted
        assert refused.value.status_code == 400

        # The same requests under the bot's own names get through to the app.
        for host in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST.:8080", "[::1]:8080", "127.0.0.2"):
            assert client.get("/", headers={"Host": host}).status_code == 200, host
            assert client.get("/api/me", headers={"Host": host}).status_code == 401, host
            inbox = client.get("/inbox", headers={"Host": host}, follow_redirects=False)
            assert inbox.status_code in (302, 303, 307), host
        assert client.post("/widget/token").status_code == 200
        with client.websocket_connect("/widget/ws", headers={"Host": "127.0.0.1:8080"}) as ws:
            token = client.post("/widget/token").json()["token"]
            ws.send_json({"type": "hello", "token": token, "last_seq": 0, "lang": "de"})
            assert ws.receive_json()["type"] == "welcome"


def test_allowed_hosts_add_a_reverse_proxys_public_name(tmp_path: Path) -> None:
    with served(tmp_path, allowed_hosts=("bot.example.com",)) as (client, _):
        assert client.get("/", headers={"Host": "bot.example.com"}).status_code == 200
        assert client.get("/", headers={"Host": "Bot.Example.com:443"}).status_code == 200
        assert client.get("/", headers={"Host": "localhost:8080"}).status_code == 200
        assert client.get("/", headers={"Host": EVIL}).status_code == 400
        assert client.get("/", headers={"Host": "bot.example.com.evil.example"}).status_code == 400


def test_on_a_public_address_any_name_passes_unless_hosts_are_listed(tmp_path: Path) -> None:
    with served(tmp_path, host="0.0.0.0") as (client, _):
        assert client.get("/", headers={"Host": EVIL}).status_code == 200
    with served(tmp_path, host="0.0.0.0", allowed_hosts=("bot.example.com",)) as (client, _):
        assert client.get("/", headers={"Host": "bot.example.com"}).status_code == 200
        assert client.get("/", headers={"Host": EVIL}).status_code == 400


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("Example.COM.", "example.com"),
        ("", None),
        (None, None),
        ("::1", None),  # IPv6 needs brackets in a Host header
        ("[::1]x", None),
        ("a b:80", None),
        ("user@evil.example", None),
    ],
)
def test_host_names_are_read_strictly(header: str | None, name: str | None) -> None:
    assert host_name(header) == name


def test_no_host_header_is_refused_on_loopback_only() -> None:
    assert not host_allowed(None, "127.0.0.1")
    assert host_allowed(None, "0.0.0.0")
    assert host_allowed("127.0.0.1:1", "::1")  # a loopback name on a loopback listener
    assert host_allowed("bot.lan:8080", "bot.lan")  # the configured BOT_WEB_HOST itself


def test_the_setting_is_read_and_checked() -> None:
    config = load({"BOT_WEB_ALLOWED_HOSTS": " bot.example.com , Shop.Example:443 ,[::1]:80"})
    assert config.allowed_hosts == ("bot.example.com", "shop.example", "::1")
    with pytest.raises(WebConfigError, match=r"BOT_WEB_ALLOWED_HOSTS: 'https://bot\.example\.com/' is not"):
        load({"BOT_WEB_ALLOWED_HOSTS": "https://bot.example.com/"})
