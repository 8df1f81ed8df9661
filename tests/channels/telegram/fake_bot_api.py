"""An in-repo fake of the Telegram Bot API, faithful where the bot depends on Telegram's rules.

One :class:`FakeTelegram` holds the state (chats, messages, forum topics, members, pending updates) and
answers Bot API methods with Telegram's own JSON and error texts. It is reachable in three ways:

- :class:`FakeRequest`, a ``telegram.request.BaseRequest``: plugged into the real PTB ``Application``;
- :func:`mock_transport`, an ``httpx.MockTransport``: PTB's own ``HTTPXRequest`` talks to it over "HTTP";
- :class:`FakeServer`, a real HTTP server on localhost: for ``python -m bot run`` as a subprocess.

Updates reach a bot by ``getUpdates`` on any of them, by :meth:`FakeTelegram.push_to_webhook` (one URL, one
by one), or by :class:`WebhookDelivery`: several replicas' URLs round-robin, per chat in order, chats in
parallel, failed POSTs retried on the next replica, as Telegram delivers webhooks behind a load balancer.

It records every call and can inject failures: ``429`` with ``retry_after``, ``message thread not found``,
timeouts. It enforces the limits the bot must respect (4,096 characters, 64-byte callback data, valid HTML
in parse mode, 128-character topic names, deleteMessage's 48 hours and rights), so a bot that breaks them
fails here as it would in production. ``change_member`` sends the ``chat_member`` updates Telegram sends to
administrator bots; ``age`` makes a message older.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
BOT_ID = 123456
STAFF_CHAT_ID = -1001234567890

JSON = dict[str, Any]


class FakeApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> FakeApiError:
    return FakeApiError(400, f"Bad Request: {description}")


@dataclass
class Call:
    method: str
    params: JSON
    failed: str | None = None
    """The injected or rule-based error this call got, if any."""


@dataclass
class Failure:
    method: str
    error: FakeApiError | None
    """``None`` means a timeout (the request never gets an answer)."""
    times: int
    when: Callable[[JSON], bool] | None = None


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass
class Chat:
    id: int
    type: str
    data: JSON
    messages: dict[int, JSON] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    members: dict[int, str] = field(default_factory=dict)
    last_message_id: int = 0
    """Telegram never reuses a message id in a chat, even after tests clear ``messages``."""


_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote"}
_HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|[<>&]")


def check_html(text: str) -> str:
    """Telegram's HTML rules; returns the visible text or raises like Telegram does."""
    stack: list[str] = []
    visible: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        visible.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in "<>&":
            raise _bad(f"can't parse entities: unsupported start tag or unescaped {token!r} at byte offset")
        if token.startswith("&"):
            visible.append({"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}.get(token, "?"))
            continue
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in _HTML_TAGS:
            raise _bad(f'can\'t parse entities: unsupported start tag "{tag}"')
        if closing:
            if not stack or stack.pop() != tag:
                raise _bad(f'can\'t parse entities: unexpected end tag "{tag}"')
        else:
            stack.append(tag)
    visible.append(text[position:])
    if stack:
        raise _bad(f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(visible)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The state of one fake Telegram, shared by every transport; thread-safe."""

    def __init__(self, staff_chat_id: int = STAFF_CHAT_ID) -> None:
        self.lock = threading.RLock()
        self.new_update = threading.Condition(self.lock)
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.updates: list[JSON] = []
        self.delivered_by: dict[tuple[int, int], int] = {}
        self.update_ids = itertools.count(1)
        self.callback_ids = itertools.count(1)
        self.thread_ids = itertools.count(100)
        self.blocked: set[int] = set()
        self.answered: dict[str, JSON] = {}
        self.webhook: JSON = {"url": ""}
        self.confirm_waiters: list[tuple[int, threading.Event]] = []
        self.observers: list[Callable[[str, JSON], None]] = []
        """Called with every request (method, parameters) as it arrives, before it is answered."""
        self.me: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Carebot",
            "username": "carebot_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }
        self.staff_chat_id = staff_chat_id
        self.chats: dict[int, Chat] = {}
        self._chat(staff_chat_id, "supergroup", {"title": "Support", "is_forum": True}).members[BOT_ID] = (
            "administrator"
        )

    # --- state helpers ------------------------------------------------------------------------------

    def _chat(self, chat_id: int, type_: str = "private", data: JSON | None = None) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id, type_, {"id": chat_id, "type": type_, **(data or {})})
        return chat

    def _store(self, chat_id: int, sender: JSON, extra: JSON) -> JSON:
        chat = self.chats[chat_id]
        message_id = chat.last_message_id = max(chat.last_message_id, *chat.messages, 0) + 1
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.data,
            "from": sender,
        }
        message.update(extra)
        chat.messages[message_id] = message
        return message

    def _push(self, kind: str, payload: JSON) -> JSON:
        with self.lock:
            update = {"update_id": next(self.update_ids), kind: payload}
            if "message_id" in payload:
                self.delivered_by[(payload["chat"]["id"], payload["message_id"])] = update["update_id"]
            self.updates.append(update)
            self.new_update.notify_all()
            return update

    @staticmethod
    def user(user_id: int, first_name: str = "Anna", language_code: str | None = "de", **extra: Any) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name, **extra}
        if language_code:
            user["language_code"] = language_code
        return user

    # --- what people do (each becomes an update) ----------------------------------------------------

    def private_message(self, user: JSON, text: str | None = None, **extra: Any) -> JSON:
        """A customer writes to the bot privately; ``extra`` carries media such as ``photo=[...]``."""
        with self.lock:
            chat = self._chat(user["id"], "private", {"first_name": user["first_name"]})
            fields: JSON = dict(extra)
            if text is not None:
                fields["text"] = text
                if text.startswith("/"):
                    command = text.split()[0]
                    fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            message = self._store(chat.id, user, fields)
            self._push("message", message)
            return message

    def media(self, user: JSON, kind: str, caption: str | None = None) -> JSON:
        file = {"file_id": f"{kind}-file", "file_unique_id": f"{kind}-unique"}
        shapes: dict[str, Any] = {
            "photo": [{**file, "width": 90, "height": 90}],
            "voice": {**file, "duration": 3},
            "audio": {**file, "duration": 3},
            "video": {**file, "width": 90, "height": 90, "duration": 3},
            "sticker": {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                        "is_video": False},
            "document": {**file, "file_name": "invoice.pdf"},
            "location": {"latitude": 52.5, "longitude": 13.4},
            "contact": {"phone_number": "+49301234567", "first_name": "Anna"},
        }  # fmt: skip
        extra: JSON = {kind: shapes[kind]}
        if caption is not None:
            extra["caption"] = caption
        return self.private_message(user, None, **extra)

    def group_message(
        self,
        user: JSON,
        text: str,
        *,
        thread_id: int | None = None,
        chat_id: int | None = None,
        reply_to: JSON | None = None,
    ) -> JSON:
        """Someone writes in a group (the staff group by default), optionally inside a forum topic."""
        with self.lock:
            chat = self._chat(chat_id or self.staff_chat_id, "supergroup", {"title": "Some group"})
            chat.members.setdefault(user["id"], "member")
            fields: JSON = {"text": text}
            if text.startswith("/"):
                command = text.split()[0]
                fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if thread_id is not None:
                fields["message_thread_id"] = thread_id
                fields["is_topic_message"] = True
            if reply_to is not None:
                fields["reply_to_message"] = reply_to
            elif thread_id is not None:
                # Telegram sets the topic's opening service message as the reply target.
                fields["reply_to_message"] = {
                    "message_id": thread_id,
                    "date": int(time.time()),
                    "chat": chat.data,
                    "forum_topic_created": {"name": chat.topics[thread_id].name, "icon_color": 7322096},
                    "message_thread_id": thread_id,
                    "is_topic_message": True,
                }
            message = self._store(chat.id, user, fields)
            self._push("message", message)
            return message

    def edit(self, message: JSON, text: str) -> JSON:
        with self.lock:
            stored = self.chats[message["chat"]["id"]].messages[message["message_id"]]
            stored["text"] = text
            stored["edit_date"] = int(time.time())
            self._push("edited_message", dict(stored))
            return stored

    def press(self, user: JSON, message: JSON, data: str | None = None, *, label: str | None = None) -> str:
        """Press an inline button on a message the bot sent (by ``callback_data`` or by label)."""
        with self.lock:
            stored = self.chats[message["chat"]["id"]].messages[message["message_id"]]
            buttons = [b for row in stored.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            chosen = [b for b in buttons if b["callback_data"] == data or b["text"] == label]
            assert chosen, f"no button {data or label!r} on message: {buttons}"
            query_id = str(next(self.callback_ids))
            self._push(
                "callback_query",
                {
                    "id": query_id,
                    "from": user,
                    "chat_instance": "instance",
                    "data": chosen[0]["callback_data"],
                    "message": stored,
                },
            )
            return query_id

    def raw_update(self, kind: str, payload: JSON) -> JSON:
        """Queue an update exactly as given, even one the real Telegram would never send (tests of bad input)."""
        return self._push(kind, payload)

    def update_id_of(self, message: JSON) -> int:
        """The update that delivered ``message`` (as returned by :meth:`private_message` and friends)."""
        with self.lock:
            return self.delivered_by[(message["chat"]["id"], message["message_id"])]

    def set_member(self, user_id: int, status: str, chat_id: int | None = None) -> None:
        with self.lock:
            self._chat(chat_id or self.staff_chat_id).members[user_id] = status

    def change_member(
        self, user: JSON, status: str, *, by: JSON | None = None, chat_id: int | None = None
    ) -> JSON:
        """Someone joins, leaves or is removed (``left``, ``kicked``, ``member``): the state changes and a
        ``chat_member`` update reports it, as Telegram does for bots that are administrators of the chat."""
        with self.lock:
            chat = self._chat(chat_id or self.staff_chat_id)
            old = chat.members.get(user["id"], "left")
            chat.members[user["id"]] = status

            def member(status: str) -> JSON:
                shape: JSON = {"status": status, "user": user}
                if status == "kicked":
                    shape["until_date"] = 0
                return shape

            change = {
                "chat": chat.data,
                "from": by or user,
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(status),
            }
            self._push("chat_member", change)
            return change

    def age(self, chat_id: int, message_id: int, hours: float) -> None:
        """Pretend a message was sent ``hours`` earlier (Telegram's 48-hour rule for deleting)."""
        with self.lock:
            self.chats[chat_id].messages[message_id]["date"] -= int(hours * 3600)

    def delete_topic(self, thread_id: int, chat_id: int | None = None) -> None:
        with self.lock:
            self.chats[chat_id or self.staff_chat_id].topics[thread_id].deleted = True

    # --- failures -----------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 429,
        description: str | None = None,
        *,
        retry_after: float | None = None,
        times: int = 1,
        when: Callable[[JSON], bool] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (matching ``when``) fail with this error."""
        if status == 429:
            retry_after = 0.05 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        error = FakeApiError(status, description or "Bad Request: injected", retry_after)
        with self.lock:
            self.failures.append(Failure(method, error, times, when))

    def time_out(self, method: str, *, times: int = 1, when: Callable[[JSON], bool] | None = None) -> None:
        with self.lock:
            self.failures.append(Failure(method, None, times, when))

    def _injected(self, method: str, params: JSON) -> Failure | None:
        for failure in self.failures:
            if (
                failure.method == method
                and failure.times > 0
                and (failure.when is None or failure.when(params))
            ):
                failure.times -= 1
                return failure
        return None

    # --- what the bot did ---------------------------------------------------------------------------

    def calls_to(self, method: str, **match: Any) -> list[Call]:
        with self.lock:
            return [
                call
                for call in self.calls
                if call.method == method and all(call.params.get(k) == v for k, v in match.items())
            ]

    def sent(self, chat_id: int, thread_id: int | None = None) -> list[JSON]:
        """Messages the bot sent to a chat (and topic), oldest first, as stored (edits applied)."""
        with self.lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                return []
            return [
                m
                for m in chat.messages.values()
                if m["from"]["id"] == BOT_ID
                and "forum_topic_created" not in m
                and (thread_id is None or m.get("message_thread_id") == thread_id)
            ]

    def texts(self, chat_id: int, thread_id: int | None = None) -> list[str]:
        return [m.get("text", "") for m in self.sent(chat_id, thread_id)]

    def topics(self, chat_id: int | None = None) -> list[Topic]:
        with self.lock:
            return [t for t in self.chats[chat_id or self.staff_chat_id].topics.values() if not t.deleted]

    # --- the API ------------------------------------------------------------------------------------

    def call(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Answer one Bot API call: ``(HTTP status, JSON body)``. Raises :class:`TimedOut` when told to."""
        with self.lock:
            record = Call(method, params)
            self.calls.append(record)
            for observe in self.observers:
                observe(method, params)
            failure = self._injected(method, params)
            if failure is not None and failure.error is None:
                record.failed = "timeout"
                raise TimedOut("Timed out (injected)")
            try:
                if failure is not None and failure.error is not None:
                    raise failure.error
                handler = getattr(self, f"api_{method}", None)
                if handler is None:
                    raise FakeApiError(404, "Not Found: method not found")
                result = handler(params)
            except FakeApiError as error:
                record.failed = error.description
                return error.status, error.body()
            return 200, {"ok": True, "result": result}

    def pending_updates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        with self.lock:
            if offset:
                # Telegram forgets every update below the offset: the bot has confirmed them.
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                for update_id, event in self.confirm_waiters:
                    if offset > update_id:
                        event.set()
            return self.updates[:limit]

    def when_confirmed(self, update_id: int) -> threading.Event:
        """An event set the moment a ``getUpdates`` arrives whose offset confirms ``update_id`` (Telegram
        drops it then): the instant a crash test kills the bot."""
        event = threading.Event()
        with self.lock:
            self.confirm_waiters.append((update_id, event))
        return event

    async def push_to_webhook(self, local_url: str) -> list[int]:
        """Deliver the queued updates to the bot's webhook (at ``local_url``, where the reverse proxy would
        forward ``webhook["url"]``) one by one, with the secret token, as Telegram does: an update answered
        2xx is forgotten, any other answer leaves it queued. Returns the HTTP statuses."""
        statuses: list[int] = []
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(self.webhook.get("secret_token") or "")}
        async with httpx.AsyncClient(timeout=10) as client:
            with self.lock:
                queued = list(self.updates)
            for update in queued:
                response = await client.post(local_url, json=update, headers=headers)
                statuses.append(response.status_code)
                if 200 <= response.status_code < 300:
                    with self.lock:
                        self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
        return statuses

    def _target(self, params: JSON) -> Chat:
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None:
            raise _bad("chat not found")
        if chat.id in self.blocked:
            raise FakeApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _thread(self, chat: Chat, params: JSON) -> int | None:
        thread_id = params.get("message_thread_id")
        if thread_id is None:
            return None
        topic = chat.topics.get(int(thread_id))
        if topic is None or topic.deleted:
            raise _bad("message thread not found")
        return int(thread_id)

    def _text(self, params: JSON, key: str = "text") -> str:
        text = str(params.get(key) or "")
        visible = check_html(text) if params.get("parse_mode") == "HTML" else text
        if params.get("parse_mode") not in (None, "HTML"):
            raise _bad(f"unsupported parse_mode {params['parse_mode']!r} in this fake")
        if not visible.strip():
            raise _bad("message text is empty")
        if utf16_len(visible) > 4096:
            raise _bad("message is too long")
        return text

    @staticmethod
    def _markup(params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64 or not button.get("callback_data"):
                    raise _bad("BUTTON_DATA_INVALID")
        return dict(markup)

    def api_getMe(self, params: JSON) -> JSON:
        return self.me

    def api_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook.get("url"):
            raise FakeApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        return self.pending_updates(params)

    def api_deleteWebhook(self, params: JSON) -> bool:
        self.webhook = {"url": ""}
        return True

    def api_setWebhook(self, params: JSON) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def api_getWebhookInfo(self, params: JSON) -> JSON:
        return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": 0}

    def api_setMyCommands(self, params: JSON) -> bool:
        return True

    def api_sendChatAction(self, params: JSON) -> bool:
        chat = self._target(params)
        self._thread(chat, params)
        return True

    def api_sendMessage(self, params: JSON) -> JSON:
        chat = self._target(params)
        thread_id = self._thread(chat, params)
        extra: JSON = {"text": self._text(params)}
        markup = self._markup(params)
        if markup:
            extra["reply_markup"] = markup
        if params.get("parse_mode"):
            extra["parse_mode"] = params["parse_mode"]
        if thread_id is not None:
            extra["message_thread_id"] = thread_id
            extra["is_topic_message"] = True
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if reply:
            target = chat.messages.get(int(reply["message_id"]))
            if target is not None:
                extra["reply_to_message"] = dict(target)
            elif not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        return self._store(chat.id, self.me, extra)

    def api_copyMessage(self, params: JSON) -> JSON:
        chat = self._target(params)
        thread_id = self._thread(chat, params)
        source = self.chats[int(params["from_chat_id"])].messages.get(int(params["message_id"]))
        if source is None:
            raise _bad("message to copy not found")
        content = {
            k: v for k, v in source.items() if k not in {"message_id", "date", "chat", "from", "edit_date"}
        }
        if thread_id is not None:
            content.update(message_thread_id=thread_id, is_topic_message=True)
        return {"message_id": self._store(chat.id, self.me, content)["message_id"]}

    def api_editMessageText(self, params: JSON) -> JSON:
        chat = self._target(params)
        message = chat.messages.get(int(params["message_id"]))
        if message is None:
            raise _bad("message to edit not found")
        text = self._text(params)
        markup = self._markup(params)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        message["text"] = text
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    def api_editMessageReplyMarkup(self, params: JSON) -> JSON:
        chat = self._target(params)
        message = chat.messages[int(params["message_id"])]
        markup = self._markup(params)
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        return message

    DELETE_WINDOW = 48 * 3600
    """Bot API: "A message can only be deleted if it was sent less than 48 hours ago." Modelled strictly
    (also for administrators), the case the bot must report honestly."""

    def api_deleteMessage(self, params: JSON) -> bool:
        chat = self._target(params)
        message = chat.messages.get(int(params["message_id"]))
        if message is None:
            raise _bad("message to delete not found")
        own = message["from"]["id"] == BOT_ID
        admin = chat.members.get(BOT_ID) == "administrator"
        if "forum_topic_created" in message or (not own and not admin and chat.type != "private"):
            raise _bad("message can't be deleted")
        if time.time() - message["date"] >= self.DELETE_WINDOW:
            raise _bad("message can't be deleted")
        del chat.messages[message["message_id"]]
        return True

    def api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params["callback_query_id"])
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        if query_id in self.answered:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self.answered[query_id] = params
        return True

    def api_getChatMember(self, params: JSON) -> JSON:
        chat = self._target(params)
        user_id = int(params["user_id"])
        status = chat.members.get(user_id, "left")
        member: JSON = {"status": status, "user": self.user(user_id, "Someone", None)}
        if status == "administrator":
            member.update(
                can_be_edited=False, is_anonymous=False, can_manage_chat=True, can_delete_messages=True,
                can_manage_video_chats=True, can_restrict_members=True, can_promote_members=False,
                can_change_info=True, can_invite_users=True, can_post_stories=False, can_edit_stories=False,
                can_delete_stories=False, can_manage_topics=True,
            )  # fmt: skip
        if status == "restricted":
            member.update(is_member=True, until_date=0)
        return member

    def api_getChat(self, params: JSON) -> JSON:
        chat = self._target(params)
        return {**chat.data, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {
            "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
            "premium_subscription": False, "gifts_from_channels": False}}  # fmt: skip

    def _forum(self, params: JSON) -> Chat:
        chat = self._target(params)
        if not chat.data.get("is_forum"):
            raise _bad("the chat is not a forum")
        if chat.members.get(BOT_ID) != "administrator":
            raise _bad("not enough rights to create a topic")
        return chat

    def _topic_name(self, params: JSON, required: bool) -> str | None:
        name = params.get("name")
        if name is None and not required:
            return None
        if not name or len(str(name)) > 128:
            raise _bad("TOPIC_NAME_INVALID")
        return str(name)

    def api_createForumTopic(self, params: JSON) -> JSON:
        chat = self._forum(params)
        name = self._topic_name(params, required=True)
        assert name is not None
        thread_id = next(self.thread_ids)
        chat.topics[thread_id] = Topic(thread_id, name, params.get("icon_custom_emoji_id"))
        chat.messages[thread_id] = {
            "message_id": thread_id,
            "date": int(time.time()),
            "chat": chat.data,
            "from": self.me,
            "forum_topic_created": {"name": name, "icon_color": 7322096},
            "message_thread_id": thread_id,
            "is_topic_message": True,
        }
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def _existing_topic(self, params: JSON) -> Topic:
        chat = self._forum(params)
        topic = chat.topics.get(int(params["message_thread_id"]))
        if topic is None or topic.deleted:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    def api_editForumTopic(self, params: JSON) -> bool:
        topic = self._existing_topic(params)
        name = self._topic_name(params, required=False)
        icon = params.get("icon_custom_emoji_id")
        if (name is None or name == topic.name) and (icon is None or icon == topic.icon_custom_emoji_id):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.name = name or topic.name
        topic.icon_custom_emoji_id = icon if icon is not None else topic.icon_custom_emoji_id
        return True

    def api_closeForumTopic(self, params: JSON) -> bool:
        topic = self._existing_topic(params)
        if topic.closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    def api_reopenForumTopic(self, params: JSON) -> bool:
        topic = self._existing_topic(params)
        if not topic.closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def api_getForumTopicIconStickers(self, params: JSON) -> list[JSON]:
        return []

    def api_close(self, params: JSON) -> bool:
        return True

    # --- waiting (tests) ----------------------------------------------------------------------------

    async def wait_for(self, condition: Callable[[], object], within: float = 5.0) -> Any:
        """Poll ``condition`` until it is truthy; fail the test with a useful message after ``within`` s."""
        deadline = time.monotonic() + within
        while True:
            with self.lock:
                value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                recent = [(c.method, c.failed) for c in self.calls[-15:]]
                raise AssertionError(f"condition not met within {within}s; last calls: {recent}")
            await asyncio.sleep(0.01)


def _method(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class FakeRequest(BaseRequest):
    """The fake as PTB's network layer: no sockets, no serialisation surprises, long polling included."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = _method(url)
        params = dict(request_data.parameters) if request_data else {}
        if name == "getUpdates":
            # Long polling: wait (cancellably) until an update is queued or the timeout passes.
            deadline = time.monotonic() + float(params.get("timeout") or 0)
            # Polling, not an asyncio.Event: updates may also be pushed from other threads.
            while not self.telegram.pending_updates(params) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        status, body = self.telegram.call(name, params)
        return status, json.dumps(body).encode()


# --- the same fake over HTTP ------------------------------------------------------------------------

_STRING_PARAMS = {
    "text",
    "caption",
    "name",
    "callback_query_id",
    "url",
    "secret_token",
    "parse_mode",
    "action",
}


def decode_form(pairs: list[tuple[str, str]]) -> JSON:
    """PTB's HTTPXRequest sends form fields whose non-string values are JSON-encoded."""
    params: JSON = {}
    for key, value in pairs:
        if key in _STRING_PARAMS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def mock_transport(telegram: FakeTelegram) -> httpx.MockTransport:
    """The fake behind ``httpx.MockTransport``: PTB's real HTTPXRequest encodes and decodes the wire."""

    def handler(request: httpx.Request) -> httpx.Response:
        params = decode_form(parse_qsl(request.content.decode(), keep_blank_values=True))
        try:
            status, body = telegram.call(_method(request.url.path), params)
        except TimedOut:
            raise httpx.ReadTimeout("injected", request=request) from None
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


class FakeServer:
    """The fake on ``http://127.0.0.1:<port>``, in a thread: point ``TELEGRAM_API_BASE_URL`` at :attr:`url`."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram
        fake = telegram

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = decode_form(parse_qsl(raw, keep_blank_values=True))
                name = _method(self.path)
                if name == "getUpdates":
                    deadline = time.monotonic() + float(params.get("timeout") or 0)
                    with fake.new_update:
                        while not fake.pending_updates(params) and time.monotonic() < deadline:
                            fake.new_update.wait(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                try:
                    status, body = fake.call(name, params)
                except TimedOut:
                    status, body = 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[FakeServer]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


# --- webhooks to several replicas, as Telegram delivers them ------------------------------------------


def update_chat(update: JSON) -> int | None:
    """The chat an update belongs to (Telegram serialises delivery per chat), or None if it names none."""
    for name, value in update.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return int(holder["chat"]["id"])
    return None


@dataclass
class Attempt:
    """One webhook POST: which update went to which replica, and what came back (status or error)."""

    update_id: int
    chat: int | None
    url: str
    status: int | None
    error: str | None
    at: float


class WebhookDelivery:
    """Telegram's webhook delivery to ``urls`` (replicas behind a load balancer), round-robin.

    As Telegram does it: a chat's next update is posted only after the previous one was answered 2xx;
    different chats go in parallel (at most ``max_connections`` POSTs at once, Telegram's default 40); an
    update whose POST failed (connection refused because the replica was killed, a timeout, any non-2xx)
    stays queued and is posted again after ``retry_delay`` seconds, to the next replica in turn. A 2xx
    removes it from :attr:`FakeTelegram.updates` (Telegram forgets it). Every POST is kept in
    :attr:`attempts`; :attr:`replies` records, per private chat, each ``sendMessage`` the bot made as it
    arrived (``(perf_counter, text)``), so a test can check order and a benchmark can time answers.

        async with WebhookDelivery(fake, [url1, url2, url3]).running() as delivery:
            fake.private_message(user, "Hallo")
            await delivery.drained(within=30)
    """

    def __init__(
        self,
        telegram: FakeTelegram,
        urls: list[str],
        *,
        max_connections: int = 40,
        retry_delay: float = 0.1,
        timeout: float = 10.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one webhook URL is needed")
        self.telegram = telegram
        self.urls = list(urls)
        self.max_connections = max_connections
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.attempts: list[Attempt] = []
        self.replies: dict[int, list[tuple[float, str]]] = {}
        self.delivered: dict[int, float] = {}
        """update_id -> perf_counter of the 2xx that made Telegram forget it."""
        self._next_url = itertools.count()
        self._busy: set[int | None] = set()
        self._not_before: dict[int | None, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        telegram.observers.append(self._observe)

    def _observe(self, method: str, params: JSON) -> None:
        if method != "sendMessage":
            return
        try:
            chat = int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            return
        if chat > 0:
            self.replies.setdefault(chat, []).append((time.perf_counter(), str(params.get("text") or "")))

    def reply_texts(self, chat: int) -> list[str]:
        with self.telegram.lock:
            return [text for _, text in self.replies.get(chat, [])]

    def idle(self) -> bool:
        """Nothing queued at the fake and no POST in flight."""
        with self.telegram.lock:
            return not self.telegram.updates and not self._busy

    async def drained(self, within: float = 30.0) -> None:
        """Wait until every queued update was confirmed by some replica."""
        await self.telegram.wait_for(self.idle, within=within)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookDelivery]:
        stop = asyncio.Event()
        loop = asyncio.create_task(self._run(stop), name="webhook-delivery")
        try:
            yield self
        finally:
            stop.set()
            await loop

    def _secret(self) -> str:
        with self.telegram.lock:
            return str(self.telegram.webhook.get("secret_token") or "")

    async def _run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            while not stop.is_set():
                now = time.monotonic()
                with self.telegram.lock:
                    ready: list[JSON] = []
                    seen: set[int | None] = set()
                    for update in self.telegram.updates:
                        chat = update_chat(update)
                        if chat in seen:
                            continue  # only a chat's oldest queued update may go out
                        seen.add(chat)
                        if chat in self._busy or self._not_before.get(chat, 0.0) > now:
                            continue
                        if len(self._busy) >= self.max_connections:
                            break
                        self._busy.add(chat)
                        ready.append(update)
                for update in ready:
                    task = asyncio.create_task(self._post(client, update, self._secret()))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(0.002)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _post(self, client: httpx.AsyncClient, update: JSON, secret: str) -> None:
        chat = update_chat(update)
        url = self.urls[next(self._next_url) % len(self.urls)]
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self.telegram.lock:
            self.attempts.append(Attempt(update["update_id"], chat, url, status, error, time.perf_counter()))
            if status is not None and 200 <= status < 300:
                self.telegram.updates = [
                    u for u in self.telegram.updates if u["update_id"] != update["update_id"]
                ]
                self.delivered[update["update_id"]] = time.perf_counter()
            else:
                self._not_before[chat] = time.monotonic() + self.retry_delay
            self._busy.discard(chat)
