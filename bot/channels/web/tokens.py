"""Visitor tokens and identity hashes: HMAC-SHA256, nothing stored per visitor on the server.

A visitor token is ``v1.<visitor id>.<issued, unix seconds>.<signature>``. The visitor id is random (or
``user-<hex>`` for a visitor the company's site identified); the signature covers the rest, so a token
cannot be edited into someone else's conversation. Tokens are bearer secrets: whoever holds one reads that
conversation, which is why the widget keeps it in localStorage of the page's origin only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

_VISITOR = re.compile(r"^(?:[A-Za-z0-9_-]{22}|user-[0-9a-f]{1,128})$")


class TokenError(ValueError):
    """The token is malformed, forged or expired; the message says which, for the client."""


@dataclass(frozen=True, slots=True)
class Visitor:
    id: str
    issued: int

    @property
    def identified(self) -> bool:
        return self.id.startswith("user-")


def _sign(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def identified_visitor_id(user_id: str) -> str:
    """The visitor id of a person the company's site identified: the same on every device."""
    return "user-" + user_id.encode().hex()[:128]


def issue(secret: str, visitor_id: str, now: float | None = None) -> str:
    if not _VISITOR.match(visitor_id):
        raise ValueError(f"not a visitor id: {visitor_id!r}")
    body = f"v1.{visitor_id}.{int(time.time() if now is None else now)}"
    return f"{body}.{_sign(secret, body)}"


def verify(secret: str, token: str, *, max_age_days: int, now: float | None = None) -> Visitor:
    parts = token.split(".") if isinstance(token, str) and len(token) < 512 else []
    if len(parts) != 4 or parts[0] != "v1" or not _VISITOR.match(parts[1]) or not parts[2].isdigit():
        raise TokenError("malformed token")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(secret, body), parts[3]):
        raise TokenError("invalid token")
    issued = int(parts[2])
    current = time.time() if now is None else now
    if current - issued > max_age_days * 86400:
        raise TokenError("expired token")
    if issued - current > 300:
        raise TokenError("token from the future")
    return Visitor(parts[1], issued)


def identity_hash(secret: str, user_id: str) -> str:
    """What the company's server computes for ``carebot.identify``: hex HMAC-SHA256 of the user id."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_valid(secret: str | None, user_id: str, given: str) -> bool:
    if not secret or not user_id or not given:
        return False
    return hmac.compare_digest(identity_hash(secret, user_id), given.strip().lower())
