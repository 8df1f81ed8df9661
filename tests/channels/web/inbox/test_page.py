"""The page's files: served with the right types, nothing loaded from elsewhere, no inline code."""

from __future__ import annotations

import re
from importlib import resources

from tests.channels.web.inbox.conftest import Desk


def _static(name: str) -> str:
    return resources.files("bot.channels.web.inbox").joinpath("static", name).read_text(encoding="utf-8")


def test_static_files_are_served_with_their_types_and_nothing_else(desk: Desk) -> None:
    script = desk.client.get("/inbox/static/inbox.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    style = desk.client.get("/inbox/static/inbox.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    for name in ("inbox.html", "..%2Fauth.py", "nothing.js"):
        assert desk.client.get(f"/inbox/static/{name}").status_code == 404


def test_the_page_loads_nothing_from_other_origins_and_has_no_inline_code() -> None:
    page = _static("inbox.html")
    script = _static("inbox.js")
    assert re.findall(r"https?://", page) == []
    assert re.findall(r"https?://[^'\"]+", script) == ["http://www.w3.org/2000/svg"]  # a namespace name only
    assert "<script>" not in page and not re.search(r"\son[a-z]+=", page)  # CSP forbids inline code
    assert "style=" not in page
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script  # texts go in as text


def test_every_form_field_has_a_label() -> None:
    page = _static("inbox.html")
    ids = set(re.findall(r'<(?:textarea|input|select)[^>]*\sid="([^"]+)"', page))
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', page))
    wrapped = set(re.findall(r'<label[^>]*>[^<]*<(?:select|input)[^>]*\sid="([^"]+)"', page))
    unnamed_selects = re.findall(r"<label[^>]*>[^<]*\s*<select name=", page)
    assert ids <= labelled | wrapped, ids - labelled - wrapped
    assert len(unnamed_selects) == 3  # the three filters sit inside their labels
