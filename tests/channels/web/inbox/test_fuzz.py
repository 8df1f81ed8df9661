"""Hypothesis throws arbitrary JSON, paths and query strings at the API: every answer is a JSON refusal or a
success, never a crash, and every refusal leaves the ticket as it was unless the action succeeded."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.channels.web.inbox.conftest import Desk

ACTIONS = ("reply", "note", "claim", "resolve", "resolve-and-next", "snooze", "handback", "reopen", "block")
FIELDS = ("text", "wait", "force", "minutes", "until", "undo")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
    st.fixed_dictionaries({"text": st.text(max_size=50)}),
    st.fixed_dictionaries({"minutes": st.integers(min_value=-10, max_value=10**7)}),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(action=st.sampled_from(ACTIONS), body=bodies, ticket_offset=st.sampled_from([0, 0, 0, 1, -1, 10**6]))
def test_actions_never_crash_on_any_json(desk: Desk, action: str, body: Any, ticket_offset: int) -> None:
    auth = desk.prepared()
    ticket = 1 + ticket_offset
    response = desk.client.post(f"/api/tickets/{ticket}/{action}", headers=auth, json=body)
    assert response.status_code in (200, 400, 404, 409, 422), response.text
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    if response.status_code == 200:
        assert data["ticket"]["id"] == ticket and data["message"]
    else:
        assert isinstance(data["error"], str) and data["error"]


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(("view", "status", "priority", "channel", "days", "lifetime", "x")),
        st.text(max_size=12),
        max_size=4,
    ),
    path=st.sampled_from(("/api/tickets", "/api/stats", "/api/me", "/api/tickets/1", "/api/events")),
)
def test_reads_never_crash_on_any_query(desk: Desk, params: dict[str, str], path: str) -> None:
    if path == "/api/events":
        params = {**params, "lifetime": "0"}
    response = desk.client.get(path, headers=desk.prepared(), params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]
