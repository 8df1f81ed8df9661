"""The widget protocol through Starlette's TestClient: replay, de-duplication, origins, limits, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from bot.channels.web import tokens
from bot.storage.web import web_key
from tests.channels.web.conftest import Stack, receive_until, tight_limits


def hello(ws: Any, token: str, last_seq: int = 0, lang: str = "de") -> dict[str, Any]:
    ws.send_json({"type": "hello", "token": token, "last_seq": last_seq, "lang": lang})
    frame: dict[str, Any] = json.loads(ws.receive_text())
    return frame


def is_status(frame: dict[str, Any]) -> bool:
    return frame["type"] == "status"


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


def test_a_visitor_is_greeted_answered_and_acknowledged_after_the_commit(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        welcome = hello(ws, token)
        assert welcome["type"] == "welcome" and welcome["last_seq"] == 1
        greeting = receive_until(ws, is_status)
        assert [m["seq"] for m in messages(greeting)] == [1]
        assert greeting[0]["author"] == "bot" and "automatischer Assistent" in greeting[0]["text"]
        assert greeting[0]["text"].startswith("Hallo!")  # no name: no "Hallo !"

        ws.send_json({"type": "message", "id": "c1", "text": "Wo finde ich meine Rechnung?"})
        frames = receive_until(ws, lambda f: f["type"] == "typing" and not f["on"])
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack == {"type": "ack", "id": "c1", "seq": 2, "duplicate": False}
        frames += receive_until(ws, lambda f: f["type"] == "message" and f["author"] == "bot")
        texts = [m["text"] for m in messages(frames)]
        assert "Wo finde ich meine Rechnung?" in texts
        assert any("Kundencenter" in t for t in texts)
    visitor = tokens.verify(stack.call(stack.visitors.secret), token, max_age_days=1)
    customer = stack.call(stack.db.customer_by_external, "web", visitor.id)
    assert customer is not None and customer.channel == "web"


def test_replay_after_reconnect_sends_exactly_what_was_missed(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_json({"type": "message", "id": "c1", "text": "Mitarbeiter bitte"})
        frames = receive_until(ws, lambda f: f["type"] == "status" and f["ticket"] is not None)
        seen = max(m["seq"] for m in messages(frames))
        ticket_id = frames[-1]["ticket"]["id"]
        assert f"Vorgang {ticket_id}" in frames[-1]["ticket"]["text"]
    # While the visitor is away, a person from the team replies (as the CLI does).
    stack.call(stack.staff.reply, ticket_id, "alice", "Ich schaue mir das an.")
    stack.deliver()
    with stack.client.websocket_connect("/widget/ws") as ws:
        welcome = hello(ws, token, last_seq=seen)
        assert welcome["last_seq"] == seen + 1
        frames = receive_until(ws, is_status)
        replayed = messages(frames)
        assert [m["seq"] for m in replayed] == [seen + 1]
        assert replayed[0]["author"] == "agent" and replayed[0]["agent"] == "alice"
        assert "Ich schaue mir das an." in replayed[0]["text"]


def test_a_live_staff_reply_reaches_an_open_widget(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_json({"type": "message", "id": "c1", "text": "Mitarbeiter bitte"})
        frames = receive_until(ws, lambda f: f["type"] == "status" and f["ticket"] is not None)
        ticket_id = frames[-1]["ticket"]["id"]
        stack.call(stack.staff.reply, ticket_id, "alice", "Hallo, hier ist Alice.")
        stack.deliver()
        frames = receive_until(ws, lambda f: f["type"] == "message" and f["author"] == "agent")
        assert "Hallo, hier ist Alice." in frames[-1]["text"]


def test_a_retried_message_is_stored_and_answered_once(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_json({"type": "message", "id": "same", "text": "Tarif wechseln"})
        first = receive_until(ws, lambda f: f["type"] == "typing" and not f["on"])
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token, last_seq=0)
        ws.send_json({"type": "message", "id": "same", "text": "Tarif wechseln"})
        again = receive_until(ws, lambda f: f["type"] == "ack")
    first_ack = next(f for f in first if f["type"] == "ack")
    assert again[-1] == {**first_ack, "duplicate": True}
    visitor = tokens.verify(stack.call(stack.visitors.secret), token, max_age_days=1)

    async def count() -> int:
        customer = await stack.db.customer_by_external("web", visitor.id)
        assert customer is not None
        async with stack.db.snapshot() as tx:
            row = await tx.fetch_one(
                "SELECT count(*) AS n FROM messages WHERE customer_id = ? AND author = 'customer'",
                (customer.id,),
            )
        assert row is not None
        return int(row["n"])

    assert stack.call(count) == 1


def test_each_message_has_the_next_number_in_its_conversation(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        frames = receive_until(ws, is_status)
        for n in range(3):
            ws.send_json({"type": "message", "id": f"c{n}", "text": "Tarif wechseln"})
            frames += receive_until(ws, lambda f: f["type"] == "typing" and not f["on"])
        frames += receive_until(ws, lambda f: f["type"] == "message" and f["seq"] == 7)
    seqs = [m["seq"] for m in messages(frames)]
    assert seqs == sorted(set(seqs)) == list(range(1, 8))


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://testserver", True),  # the bot's own page
        ("https://shop.example", True),  # listed in BOT_WEB_ORIGINS
        ("https://evil.example", False),
        ("http://testserver.evil.example", False),
    ],
)
def test_only_allowed_origins_may_connect(make_stack: Callable[..., Any], origin: str, allowed: bool) -> None:
    with make_stack(origins=("https://shop.example",)) as stack:
        token_response = stack.client.post("/widget/token", headers={"Origin": origin})
        assert token_response.status_code == (200 if allowed else 403)
        if allowed:
            assert token_response.headers["access-control-allow-origin"] == origin
            with stack.client.websocket_connect("/widget/ws", headers={"Origin": origin}) as ws:
                assert hello(ws, token_response.json()["token"])["type"] == "welcome"
        else:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                stack.client.websocket_connect("/widget/ws", headers={"Origin": origin}),
            ):
                pass
            assert refused.value.code == 1008
            preflight = stack.client.options("/widget/send", headers={"Origin": origin})
            assert preflight.status_code == 403


def test_a_visitor_writing_too_fast_is_told_when_to_send_again(make_stack: Callable[..., Any]) -> None:
    with make_stack(limits=tight_limits(visitor=2)) as stack:
        token = stack.token()
        with stack.client.websocket_connect("/widget/ws") as ws:
            hello(ws, token)
            receive_until(ws, is_status)
            for n in range(2):
                ws.send_json({"type": "message", "id": f"ok{n}", "text": "Tarif wechseln"})
                receive_until(ws, lambda f: f["type"] == "typing" and not f["on"])
            ws.send_json({"type": "message", "id": "fast", "text": "Tarif wechseln"})
            error = receive_until(ws, lambda f: f["type"] == "error")[-1]
    assert error["code"] == "rate_limited" and error["id"] == "fast" and error["retry_after"] >= 1


def test_one_address_cannot_create_endless_visitors(make_stack: Callable[..., Any]) -> None:
    with make_stack(limits=tight_limits()) as stack:
        for _ in range(50):
            stack.token()
        refused = stack.client.post("/widget/token")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_an_address_shared_by_many_visitors_has_its_own_limit(make_stack: Callable[..., Any]) -> None:
    with make_stack(limits=tight_limits(visitor=10, address=3)) as stack:
        codes = []
        for n in range(4):
            with stack.client.websocket_connect("/widget/ws") as ws:
                hello(ws, stack.token())
                receive_until(ws, is_status)
                ws.send_json({"type": "message", "id": "m", "text": f"Tarif wechseln {n}"})
                codes.append(receive_until(ws, lambda f: f["type"] in ("ack", "error"))[-1].get("code"))
    assert codes == [None, None, None, "rate_limited"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "id": "c1", "text": 5}', "bad_frame"),
        ('{"type": "message", "id": "", "text": "hi"}', "bad_frame"),
        ('{"type": "message", "id": "c1", "text": "   "}', "empty"),
        (json.dumps({"type": "message", "id": "c1", "text": "x" * 4001}), "too_long"),
        ('{"type": "button", "id": "c1", "payload": "<script>"}', "bad_payload"),
        ('{"type": "hello", "token": "x", "last_seq": 0}', "bad_frame"),
    ],
)
def test_bad_frames_get_a_clear_error_and_the_connection_stays(stack: Stack, frame: str, code: str) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_text(frame)
        error = receive_until(ws, lambda f: f["type"] == "error")[-1]
        assert error["code"] == code and error["message"]
        ws.send_json({"type": "ping"})
        assert receive_until(ws, lambda f: f["type"] == "pong")


def test_a_4001_character_message_says_the_limit(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_json({"type": "message", "id": "long", "text": "ä" * 4001})
        error = receive_until(ws, lambda f: f["type"] == "error")[-1]
    assert error["limit"] == 4000 and error["length"] == 4001 and "4000" in error["message"]


def test_a_100_kb_frame_closes_the_connection_with_a_reason(stack: Stack) -> None:
    token = stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        receive_until(ws, is_status)
        ws.send_text(json.dumps({"type": "message", "id": "big", "text": "x" * 100_000}))
        error = receive_until(ws, lambda f: f["type"] == "error")[-1]
        assert error["code"] == "frame_too_big"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1009


@pytest.mark.parametrize("kind", ["forged", "expired", "garbage", "other secret"])
def test_forged_or_expired_tokens_are_refused(stack: Stack, kind: str) -> None:
    secret = stack.call(stack.visitors.secret)
    good = stack.token()
    parts = good.split(".")
    token = {
        "forged": ".".join([parts[0], tokens.new_visitor_id(), parts[2], parts[3]]),
        "expired": tokens.issue(secret, tokens.new_visitor_id(), now=0),
        "garbage": "v1.../..",
        "other secret": tokens.issue("x" * 64, tokens.new_visitor_id()),
    }[kind]
    with stack.client.websocket_connect("/widget/ws") as ws:
        ws.send_json({"type": "hello", "token": token, "last_seq": 0})
        error = json.loads(ws.receive_text())
        assert error["type"] == "error" and error["code"] == "bad_token"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 4001
    response = stack.client.post(
        "/widget/send",
        content=json.dumps({"type": "message", "id": "c1", "text": "hi"}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401 and response.json()["code"] == "bad_token"


def test_the_first_frame_must_be_hello(stack: Stack) -> None:
    with stack.client.websocket_connect("/widget/ws") as ws:
        ws.send_json({"type": "message", "id": "c1", "text": "hi"})
        assert json.loads(ws.receive_text())["code"] == "hello_first"


def test_a_button_never_offered_to_this_visitor_is_refused(stack: Stack) -> None:
    """Another visitor's ticket id in a rating button is refused; there are no conversation ids to guess."""
    victim, attacker = stack.token(), stack.token()
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, victim)
        receive_until(ws, is_status)
        ws.send_json({"type": "message", "id": "c1", "text": "Mitarbeiter bitte"})
        ticket_id = receive_until(ws, lambda f: f["type"] == "status" and f["ticket"] is not None)[-1][
            "ticket"
        ]["id"]
    stack.call(stack.staff.resolve, ticket_id, "alice")
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, attacker)
        receive_until(ws, is_status)
        ws.send_json({"type": "button", "id": "b1", "payload": f"rate:{ticket_id}:1", "label": "1"})
        error = receive_until(ws, lambda f: f["type"] == "error")[-1]
    assert error["code"] == "bad_payload"
    # The victim's own rating button works and is stored.
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, victim)
        # The hand-over message carries a "withdraw" button too: wait for the rating question's.
        frames = receive_until(
            ws,
            lambda f: (
                f["type"] == "message"
                and any(b["payload"].startswith("rate:") for b in f.get("buttons") or [])
            ),
        )
        payloads = [b["payload"] for b in frames[-1]["buttons"]]
        assert f"rate:{ticket_id}:5" in payloads
        ws.send_json({"type": "button", "id": "b2", "payload": f"rate:{ticket_id}:5", "label": "5"})
        receive_until(ws, lambda f: f["type"] == "message" and "5" in f["text"] and f["author"] == "bot")

    async def rating() -> int | None:
        async with stack.db.snapshot() as tx:
            row = await tx.fetch_one("SELECT rating FROM ratings WHERE ticket_id = ?", (ticket_id,))
        return None if row is None else int(row["rating"])

    assert stack.call(rating) == 5


def test_identify_with_the_right_hash_opens_the_persons_own_conversation(
    make_stack: Callable[..., Any],
) -> None:
    secret = "identity-secret-0123456789"
    with make_stack(identity_secret=secret) as stack:
        token = stack.token()
        with stack.client.websocket_connect("/widget/ws") as ws:
            hello(ws, token)
            receive_until(ws, is_status)
            ws.send_json(
                {"type": "identify", "user_id": "42", "name": "Kim", "email": "k@x.example", "hash": "00"}
            )
            wrong = receive_until(ws, lambda f: f["type"] == "error")[-1]
            assert wrong["code"] == "identity_rejected"
            good = tokens.identity_hash(secret, "42")
            ws.send_json({"type": "identify", "user_id": "42", "name": "Kim", "email": "", "hash": good})
            identified = receive_until(ws, lambda f: f["type"] == "identified")[-1]
        visitor = tokens.verify(stack.call(stack.visitors.secret), identified["token"], max_age_days=1)
        assert visitor.identified and visitor.id == tokens.identified_visitor_id("42")
        with stack.client.websocket_connect("/widget/ws") as ws:
            hello(ws, identified["token"])
            greeting = receive_until(ws, is_status)
        assert messages(greeting)[0]["text"].startswith("Hallo Kim!")


def test_identify_without_a_configured_secret_is_ignored(stack: Stack) -> None:
    with stack.client.websocket_connect("/widget/ws") as ws:
        hello(ws, stack.token())
        receive_until(ws, is_status)
        digest = tokens.identity_hash("guess", "42")
        ws.send_json({"type": "identify", "user_id": "42", "name": "Kim", "email": "", "hash": digest})
        assert receive_until(ws, lambda f: f["type"] == "error")[-1]["code"] == "identity_rejected"


def test_the_fallback_sends_by_post_and_reads_an_event_stream(stack: Stack) -> None:
    token = stack.token()
    auth = {"Authorization": f"Bearer {token}"}
    body = json.dumps({"type": "message", "id": "p1", "text": "Wo finde ich meine Rechnung?"})
    frames = stack.client.post("/widget/send", content=body, headers=auth).json()
    assert frames[0]["type"] == "ack" and frames[0]["seq"] == 2
    again = stack.client.post("/widget/send", content=body, headers=auth).json()
    assert again[0] == {**frames[0], "duplicate": True}
    with stack.client.stream(
        "GET", f"/widget/events?token={token}&mode=poll", headers={"Last-Event-ID": "1"}
    ) as events:
        seen: list[dict[str, Any]] = []
        for line in events.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
            if seen and seen[-1]["type"] == "status":
                break
    assert seen[0]["type"] == "welcome"
    assert [f["seq"] for f in seen if f["type"] == "message"] == [2, 3]


def test_the_secret_is_generated_once_and_shared(stack: Stack) -> None:
    from datetime import UTC, datetime

    async def twice() -> tuple[str, str]:
        async with stack.db.transaction() as tx:
            first = await web_key(tx, "visitor_tokens", datetime.now(UTC))
        async with stack.db.transaction() as tx:
            second = await web_key(tx, "visitor_tokens", datetime.now(UTC))
        return first, second

    first, second = stack.call(twice)
    assert first == second == stack.call(stack.visitors.secret) and len(first) == 64


def test_pages_carry_a_strict_content_security_policy(stack: Stack) -> None:
    page = stack.client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/widget.js" defer' in page.text
    script = stack.client.get("/widget.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/*CAREBOT_LABELS*/" not in script.text and '"message": "Nachricht"' in script.text
    assert len(script.content) <= 30 * 1024
    assert stack.client.get("/healthz").json() == {"status": "ok"}
