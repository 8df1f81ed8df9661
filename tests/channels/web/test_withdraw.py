"""The hand-over message's "never mind" button (payload ``withdraw``) through the widget protocol.

While the ticket is open it withdraws it; pressed on an old hand-over message after staff resolved the
ticket, it withdraws nothing: the ticket keeps its resolution, the rating still counts, and the bot's reply
claims nothing. (The widget also switches such stale buttons off: tests/channels/web/test_end_to_end_browser.py.)
"""

from __future__ import annotations

from typing import Any

from tests.channels.web.conftest import Stack, receive_until


def _hello(ws: Any, token: str) -> dict[str, Any]:
    """Connect; the replay ends with the conversation's status frame, which is returned."""
    ws.send_json({"type": "hello", "token": token, "last_seq": 0, "lang": "de"})
    return receive_until(ws, lambda f: f["type"] == "status")[-1]


def _status(stack: Stack, token: str) -> dict[str, Any]:
    with stack.client.websocket_connect("/widget/ws") as ws:
        return _hello(ws, token)


def _hand_over(stack: Stack, token: str) -> int:
    with stack.client.websocket_connect("/widget/ws") as ws:
        _hello(ws, token)
        ws.send_json({"type": "message", "id": "c1", "text": "Mitarbeiter bitte"})
        frames = receive_until(ws, lambda f: f["type"] == "status" and f["ticket"] is not None)
    offer = [f for f in frames if f["type"] == "message" and f.get("buttons")][-1]
    ticket: int = frames[-1]["ticket"]["id"]
    assert [b["payload"] for b in offer["buttons"]] == [f"withdraw:{ticket}"]  # names its ticket
    return ticket


def _press(stack: Stack, token: str, payload: str, client_id: str) -> list[dict[str, Any]]:
    """Press a button; the frames up to the bot's answer (an error frame fails the test)."""
    with stack.client.websocket_connect("/widget/ws") as ws:
        _hello(ws, token)
        ws.send_json({"type": "button", "id": client_id, "payload": payload, "label": "Hat sich erledigt"})
        frames = receive_until(
            ws, lambda f: f["type"] == "error" or (f["type"] == "message" and f["author"] == "bot")
        )
    assert not [f for f in frames if f["type"] == "error"], frames
    return frames


def _ticket(stack: Stack, ticket_id: int) -> tuple[str, str | None, list[str]]:
    async def read() -> tuple[str, str | None, list[str]]:
        async with stack.db.snapshot() as tx:
            row = await tx.fetch_one("SELECT status, resolution FROM tickets WHERE id = ?", (ticket_id,))
            events = await tx.fetch_all(
                "SELECT kind FROM events WHERE ticket_id = ? ORDER BY id", (ticket_id,)
            )
        assert row is not None
        return str(row["status"]), row["resolution"], [str(e["kind"]) for e in events]

    return stack.call(read)


def test_the_button_withdraws_an_open_ticket(stack: Stack) -> None:
    token = stack.token()
    ticket = _hand_over(stack, token)
    frames = _press(stack, token, f"withdraw:{ticket}", "b1")
    answer = [f for f in frames if f["type"] == "message" and f["author"] == "bot"][-1]
    assert f"Anfrage (Vorgangsnummer {ticket}) zurückgezogen" in answer["text"]
    assert _status(stack, token) == {"type": "status", "ticket": None}
    assert _ticket(stack, ticket) == ("resolved", "withdrawn", ["created", "withdrawn"])


def test_after_resolve_the_old_button_withdraws_nothing_and_says_nothing_false(stack: Stack) -> None:
    token = stack.token()
    ticket = _hand_over(stack, token)
    stack.call(stack.staff.reply, ticket, "alice", "Erledigt, die Gutschrift ist unterwegs.")
    stack.call(stack.staff.resolve, ticket, "alice")
    stack.deliver()
    before = _ticket(stack, ticket)
    assert before == ("resolved", "resolved", ["created", "reply", "resolved"])

    frames = _press(stack, token, f"withdraw:{ticket}", "b2")
    answer = [f for f in frames if f["type"] == "message" and f["author"] == "bot"][-1]
    assert "zurückgezogen" not in answer["text"] and str(ticket) not in answer["text"]  # claims nothing
    assert answer["text"].startswith("Gern!")  # the plain acknowledgement: nothing was open to withdraw
    assert _status(stack, token) == {"type": "status", "ticket": None}
    assert _ticket(stack, ticket) == before  # still resolved by alice: no withdrawal, no event

    # The rating question that followed the resolution still counts.
    _press(stack, token, f"rate:{ticket}:4", "b3")

    async def rating() -> int | None:
        async with stack.db.snapshot() as tx:
            row = await tx.fetch_one("SELECT rating FROM ratings WHERE ticket_id = ?", (ticket,))
        return None if row is None else int(row["rating"])

    assert stack.call(rating) == 4
