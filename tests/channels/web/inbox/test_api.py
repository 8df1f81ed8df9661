"""The JSON API end to end: tickets made by the real engine, actions through StaffService, the outbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.channels.web.inbox.conftest import Desk, make_app


def _outbox(desk: Desk, channel: str = "web") -> list[tuple[str, str]]:
    """``(author, text)`` of the customer-bound outbox rows after the first ``skip``."""
    with sqlite3.connect(desk.db.path) as conn:
        rows = conn.execute(
            "SELECT m.author, m.text FROM outbox o JOIN messages m ON m.id = o.message_id"
            " WHERE o.channel = ? ORDER BY o.id",
            (channel,),
        ).fetchall()
    return [(str(a), str(t)) for a, t in rows]


def _staff_notices(desk: Desk) -> list[str]:
    import json

    with sqlite3.connect(desk.db.path) as conn:
        rows = conn.execute("SELECT payload FROM outbox WHERE channel = 'staff' AND kind = 'ticket_updated'")
        return [str(json.loads(p)["text"]) for (p,) in rows]


def test_the_queue_has_views_counts_filters_and_urgency_order(desk: Desk) -> None:
    desk.account("Alice")
    auth = desk.token()
    calm = desk.escalate("u1", "Kim")
    angry_user = "u2"
    desk.customer_says(
        "Das ist eine Frechheit und Betrug, ich gehe zum Anwalt!", angry_user, "Lee", "telegram"
    )
    customer = desk.run(desk.db.customer_by_external, "telegram", angry_user)
    assert customer is not None
    angry_ticket = desk.run(desk.db.active_ticket, customer.id)
    assert angry_ticket is not None and angry_ticket.priority.value in ("high", "urgent")
    third = desk.escalate("u3", "Max")
    assert desk.client.post(f"/api/tickets/{third}/claim", headers=auth).status_code == 200

    listing = desk.client.get("/api/tickets", headers=auth).json()
    assert listing["counts"] == {"mine": 1, "unassigned": 2, "all": 3}
    assert [t["id"] for t in listing["tickets"]] == [angry_ticket.id, calm, third]  # urgent, then oldest
    mine = desk.client.get("/api/tickets?view=mine", headers=auth).json()
    assert [t["id"] for t in mine["tickets"]] == [third]
    unassigned = desk.client.get("/api/tickets?view=unassigned", headers=auth).json()
    assert [t["id"] for t in unassigned["tickets"]] == [angry_ticket.id, calm]
    by_channel = desk.client.get("/api/tickets?channel=telegram", headers=auth).json()
    assert [t["id"] for t in by_channel["tickets"]] == [angry_ticket.id]
    assert by_channel["counts"] == {"mine": 0, "unassigned": 1, "all": 1}
    by_priority = desk.client.get("/api/tickets?priority=normal", headers=auth).json()
    assert {t["id"] for t in by_priority["tickets"]} == {calm, third}
    by_status = desk.client.get("/api/tickets?status=assigned", headers=auth).json()
    assert [t["id"] for t in by_status["tickets"]] == [third]
    wrong = desk.client.get("/api/tickets?status=lost", headers=auth)
    assert wrong.status_code == 422 and "'lost' is not one of" in wrong.json()["error"]
    assert desk.client.get("/api/tickets?view=theirs", headers=auth).status_code == 422


def test_overdue_tickets_are_marked(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    desk.escalate()
    assert not desk.client.get("/api/tickets", headers=auth).json()["tickets"][0]["overdue"]
    desk.clock.offset = timedelta(hours=5)  # a normal ticket's first response is due within 4 hours
    ticket = desk.client.get("/api/tickets", headers=auth).json()["tickets"][0]
    assert ticket["overdue"] and ticket["waiting_seconds"] >= 5 * 3600


def test_the_ticket_shows_what_the_bot_tried_the_customer_and_history(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    first = desk.escalate()
    assert desk.client.post(f"/api/tickets/{first}/resolve", headers=auth).status_code == 200
    desk.customer_says("Das ist eine Frechheit und Betrug!")
    customer = desk.run(desk.db.customer_by_external, "web", "u1")
    assert customer is not None
    second = desk.run(desk.db.active_ticket, customer.id)
    assert second is not None and second.id != first

    detail = desk.client.get(f"/api/tickets/{second.id}", headers=auth).json()
    assert detail["ticket"]["customer"] == {
        "id": customer.id,
        "name": "Kim",
        "channel": "web",
        "language": "de",
        "blocked": False,
    }
    assert [t["id"] for t in detail["earlier_tickets"]] == [first]
    angry = next(m for m in detail["messages"] if "Frechheit" in m["text"])
    analysis = angry["analysis"]
    assert analysis["anger"] >= 60 and any("Frechheit" in r for r in analysis["anger_reasons"])
    assert analysis["summary"].startswith(("no intent matched", "invoice", "tariff", "payment", "fault"))
    assert "anger" in analysis["summary"]
    first_detail = desk.client.get(f"/api/tickets/{first}", headers=auth).json()
    invoice = next(m for m in first_detail["messages"] if m["text"] == "Wo finde ich meine Rechnung?")
    assert invoice["analysis"]["intents"][0] == {"intent": "invoice_copy", "score": 100.0}
    assert [e["kind"] for e in first_detail["events"]][-1] == "resolved"
    assert desk.client.get("/api/tickets/999", headers=auth).status_code == 404
    assert desk.client.get(f"/api/tickets/{10**30}", headers=auth).status_code == 404


def test_reply_reaches_the_customers_outbox_and_is_named_in_the_staff_group(desk: Desk) -> None:
    desk.account("Alice")
    app = make_app(desk.db, desk.clock, notify_staff=True)
    client = TestClient(app, base_url="http://testserver")
    client.portal = desk.client.portal
    auth = desk.token()
    ticket = desk.escalate()
    before = len(_outbox(desk))
    response = client.post(f"/api/tickets/{ticket}/reply", headers=auth, json={"text": "Ich kümmere mich."})
    assert response.status_code == 200
    assert response.json()["ticket"]["assignee"] == "Alice"
    assert response.json()["message"] == f"Reply to #{ticket} queued for delivery."
    author, text = _outbox(desk)[before]
    assert author == "agent" and "Alice" in text and "Ich kümmere mich." in text
    assert "↩️ Alice (inbox) replied:\nIch kümmere mich." in _staff_notices(desk)
    note = client.post(f"/api/tickets/{ticket}/note", headers=auth, json={"text": "VIP customer"})
    assert note.status_code == 200
    assert len(_outbox(desk)) == before + 1  # a note never goes to the customer
    assert "📝 Alice (inbox) noted:\nVIP customer" in _staff_notices(desk)
    detail = client.get(f"/api/tickets/{ticket}", headers=auth).json()
    assert [(m["private"], m["text"]) for m in detail["messages"] if m["author"] == "agent"][-1] == (
        True,
        "VIP customer",
    )


def test_claims_are_exclusive_and_other_agents_are_warned(desk: Desk) -> None:
    desk.account("Alice")
    desk.account("Bob")
    alice, bob = desk.token("Alice"), desk.token("Bob")
    ticket = desk.escalate()
    desk.client.get(f"/api/tickets/{ticket}", headers=bob)
    seen = desk.client.get(f"/api/tickets/{ticket}", headers=alice).json()
    assert seen["warnings"] == ["Bob has this ticket open too."]
    assert seen["ticket"]["viewers"] == ["Bob"]
    assert desk.client.post(f"/api/tickets/{ticket}/claim", headers=alice).status_code == 200
    refused = desk.client.post(f"/api/tickets/{ticket}/claim", headers=bob)
    assert refused.status_code == 409 and "held by Alice" in refused.json()["error"]
    reply = desk.client.post(f"/api/tickets/{ticket}/reply", headers=bob, json={"text": "me too"})
    assert reply.status_code == 409 and "Alice" in reply.json()["error"]
    assert "--force" not in reply.json()["error"] and "`" not in reply.json()["error"]  # no CLI syntax here
    bob_view = desk.client.get(f"/api/tickets/{ticket}", headers=bob).json()
    assert "Alice holds this ticket (assigned)." in bob_view["warnings"]
    forced = desk.client.post(f"/api/tickets/{ticket}/claim", headers=bob, json={"force": True})
    assert forced.status_code == 200 and forced.json()["ticket"]["assignee"] == "Bob"
    desk.clock.offset = timedelta(minutes=2)  # presence fades when the page stops refreshing
    assert desk.client.get(f"/api/tickets/{ticket}", headers=alice).json()["ticket"]["viewers"] == []


def test_resolve_asks_for_a_rating_and_resolve_and_next_names_the_next_ticket(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    first = desk.escalate("u1")
    second = desk.escalate("u2")
    before = len(_outbox(desk))
    done = desk.client.post(f"/api/tickets/{first}/resolve-and-next", headers=auth)
    assert done.status_code == 200
    assert done.json()["next_ticket"] == second and done.json()["ticket"]["status"] == "resolved"
    assert len(_outbox(desk)) == before + 2  # "resolved" and the rating question
    again = desk.client.post(f"/api/tickets/{first}/resolve", headers=auth)
    assert again.status_code == 409 and "reopen it first" in again.json()["error"]
    last = desk.client.post(f"/api/tickets/{second}/resolve-and-next", headers=auth)
    assert last.json()["next_ticket"] is None
    reopened = desk.client.post(f"/api/tickets/{first}/reopen", headers=auth)
    assert reopened.status_code == 200 and reopened.json()["ticket"]["status"] == "open"


def test_snooze_handback_and_block(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    ticket = desk.escalate("u1")
    snoozed = desk.client.post(f"/api/tickets/{ticket}/snooze", headers=auth, json={"minutes": 60})
    assert snoozed.status_code == 200 and snoozed.json()["ticket"]["status"] == "snoozed"
    assert desk.client.post(f"/api/tickets/{ticket}/snooze", headers=auth, json={}).status_code == 422
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = desk.client.post(f"/api/tickets/{ticket}/snooze", headers=auth, json={"until": past})
    assert refused.status_code == 409 and "not in the future" in refused.json()["error"]
    too_far = desk.client.post(f"/api/tickets/{ticket}/snooze", headers=auth, json={"minutes": 10**6})
    assert too_far.status_code == 422
    back = desk.client.post(f"/api/tickets/{ticket}/handback", headers=auth)
    assert back.status_code == 200 and back.json()["ticket"]["status"] == "resolved"

    other = desk.escalate("u2")
    blocked = desk.client.post(f"/api/tickets/{other}/block", headers=auth)
    assert blocked.status_code == 200
    assert blocked.json()["ticket"]["customer"]["blocked"] is True
    assert blocked.json()["ticket"]["status"] == "resolved"
    assert f"closed #{other}" in blocked.json()["message"]
    unblocked = desk.client.post(f"/api/tickets/{other}/block", headers=auth, json={"undo": True})
    assert unblocked.json()["ticket"]["customer"]["blocked"] is False


def test_bad_input_gets_a_clear_error_and_changes_nothing(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    ticket = desk.escalate()
    url = f"/api/tickets/{ticket}/reply"
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b'{"text": ""}', 422, "text"),
        (b'{"text": "' + b"x" * 4001 + b'"}', 422, "at most 4000"),
        (b'{"text": "hi", "sign_as": "Bob"}', 422, "sign_as"),
        (b'["hi"]', 422, "body"),
        (b"x" * 70_000, 413, "larger than 64 kB"),
    ]
    for body, status, words in cases:
        response = desk.client.post(url, content=body, headers={**auth, "Content-Type": "application/json"})
        assert response.status_code == status, body[:40]
        assert words in response.json()["error"]
    assert desk.client.post(f"/api/tickets/{ticket}/resolve", headers=auth, json={"x": 1}).status_code == 422
    assert desk.client.post("/api/tickets/4242/reply", headers=auth, json={"text": "hi"}).status_code == 404
    assert desk.client.get("/api/nothing", headers=auth).status_code == 404
    detail = desk.client.get(f"/api/tickets/{ticket}", headers=auth).json()
    assert detail["ticket"]["status"] == "open" and not any(
        m["author"] == "agent" for m in detail["messages"]
    )


def test_stats_count_volume_and_reuse_the_queue_report(desk: Desk) -> None:
    desk.account()
    auth = desk.token()
    ticket = desk.escalate("u1")
    desk.customer_says("Wie kann ich bezahlen?", "u2")
    desk.client.post(f"/api/tickets/{ticket}/reply", headers=auth, json={"text": "Hallo"})
    stats = desk.client.get("/api/stats?days=7", headers=auth).json()
    assert len(stats["per_day"]) == 7 and len(stats["per_hour"]) == 24
    today = stats["per_day"][-1]
    assert today["day"] == datetime.now(UTC).strftime("%Y-%m-%d")
    assert (today["messages"], today["tickets"]) == (3, 1)
    assert sum(h["messages"] for h in stats["per_hour"]) == 3
    assert stats["conversations"] == 2 and stats["bot_resolved"] == 1
    assert stats["median_first_response_seconds"] is not None
    assert desk.client.get("/api/stats?days=0", headers=auth).status_code == 422


def test_openapi_document_lists_every_api_route(desk: Desk) -> None:
    spec = desk.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    paths = spec["paths"]
    expected = {
        "/api/me",
        "/api/tickets",
        "/api/tickets/{ticket_id}",
        "/api/stats",
        "/api/events",
        *(
            f"/api/tickets/{{ticket_id}}/{action}"
            for action in (
                "reply",
                "note",
                "claim",
                "resolve",
                "resolve-and-next",
                "snooze",
                "handback",
                "reopen",
                "block",
            )
        ),
    }
    assert set(paths) == expected
    reply = paths["/api/tickets/{ticket_id}/reply"]["post"]
    schema_name = reply["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][schema_name]["properties"]["text"]["maxLength"] == 4000
    for path in paths.values():
        for operation in path.values():
            for response in operation["responses"].values():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if ref:
                    assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"]
