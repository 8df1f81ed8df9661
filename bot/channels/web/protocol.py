"""The widget protocol's frames: what a client may send, checked strictly, and what the server sends.

Every frame is one JSON object with a ``type``. The full description, for anyone writing another client,
is in docs/web.md; this module is the one place that decides what is valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.channels.web.config import MAX_FRAME, MAX_TEXT
from bot.core.agents import agent_display
from bot.core.model import Author
from bot.storage.web import NumberedMessage

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PAYLOAD = re.compile(
    r"^(?:human|none|withdraw(?::\d{1,12})?|intent:[A-Za-z0-9_.-]{1,100}|rate:\d{1,12}:[1-5])$"
)


class FrameError(ValueError):
    """A frame the server cannot accept; ``code`` is for programs, the message for people."""

    def __init__(self, code: str, message: str, *, client_id: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.client_id = client_id
        self.extra = extra

    def frame(self) -> dict[str, object]:
        frame: dict[str, object] = {"type": "error", "code": self.code, "message": str(self)}
        if self.client_id is not None:
            frame["id"] = self.client_id
        frame.update(self.extra)
        return frame


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    last_seq: int
    lang: str | None


@dataclass(frozen=True, slots=True)
class Say:
    """A typed message (``text``) or a pressed button (``payload``, with its label as ``text``)."""

    client_id: str
    text: str
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Identify:
    user_id: str
    name: str
    email: str
    hash: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientFrame = Hello | Say | Identify | Ping


def _string(data: dict[str, Any], key: str, *, limit: int, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise FrameError("bad_frame", f"'{key}' must be a string")
    if len(value) > limit:
        raise FrameError("bad_frame", f"'{key}' is longer than {limit} characters")
    return value


def parse(raw: str | bytes) -> ClientFrame:
    """One client frame, or :class:`FrameError` saying exactly what is wrong with it."""
    if len(raw) > MAX_FRAME:
        raise FrameError("frame_too_big", f"a frame may be at most {MAX_FRAME} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind == "hello":
        last = data.get("last_seq", 0)
        if not isinstance(last, int) or isinstance(last, bool) or last < 0:
            raise FrameError("bad_frame", "'last_seq' must be a whole number >= 0")
        lang = _string(data, "lang", limit=16, required=False) or None
        return Hello(_string(data, "token", limit=512), last, lang)
    if kind in ("message", "button"):
        client_id = data.get("id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            raise FrameError("bad_frame", "'id' must be 1-64 characters of A-Z a-z 0-9 _ . : -")
        if kind == "button":
            payload = _string(data, "payload", limit=120)
            if not PAYLOAD.match(payload):
                raise FrameError("bad_payload", "unknown button", client_id=client_id)
            label = _string(data, "label", limit=200, required=False)
            return Say(client_id, label or payload, payload)
        text = data.get("text")
        if not isinstance(text, str):
            raise FrameError("bad_frame", "'text' must be a string", client_id=client_id)
        text = text.strip()
        if not text:
            raise FrameError("empty", "the message is empty", client_id=client_id)
        if len(text) > MAX_TEXT:
            raise FrameError(
                "too_long",
                f"a message may be at most {MAX_TEXT} characters (this one has {len(text)})",
                client_id=client_id,
                limit=MAX_TEXT,
                length=len(text),
            )
        return Say(client_id, text)
    if kind == "identify":
        return Identify(
            _string(data, "user_id", limit=256),
            _string(data, "name", limit=200, required=False),
            _string(data, "email", limit=320, required=False),
            _string(data, "hash", limit=128),
        )
    if kind == "ping":
        return Ping()
    raise FrameError("unknown_type", f"unknown frame type {kind!r}")


def message_frame(message: NumberedMessage) -> dict[str, object]:
    frame: dict[str, object] = {
        "type": "message",
        "seq": message.seq,
        "author": message.author.value,
        "text": message.text,
        "at": message.created_at.isoformat(timespec="seconds"),
    }
    if message.buttons:
        frame["buttons"] = [{"label": b.label, "payload": b.payload} for b in message.buttons]
    if message.author is Author.AGENT:
        # The customer reads the name only; a Telegram agent's id in brackets is for the rules.
        frame["agent"] = agent_display(message.agent) if message.agent else ""
    if message.client_id is not None:
        frame["id"] = message.client_id
    return frame
