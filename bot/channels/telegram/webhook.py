"""The webhook endpoint: answers Telegram 200 only after the update is committed to the inbox.

PTB's own webhook server answers once the update is in an in-memory queue, so a crash after the 200 lost
it (Telegram never sends a confirmed update again), and an update PTB cannot parse was answered with an
error that Telegram retried forever. This endpoint (on tornado, which PTB's webhook support installs)
checks the ``X-Telegram-Bot-Api-Secret-Token`` header like PTB does (403 otherwise), commits the raw JSON,
and only then answers 200. Parsing happens later, from storage, where a bad update is poisoned once.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import tornado.httpserver
import tornado.web

from bot.channels.telegram.config import Webhook
from bot.channels.telegram.inbox import UpdateInbox, update_id

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 10 * 1024 * 1024
"""Telegram's updates are a few KiB; anything near this is not from Telegram."""


class _Endpoint(tornado.web.RequestHandler):
    def initialize(self, inbox: UpdateInbox, secret: str) -> None:
        self.inbox = inbox
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.debug("webhook call without the right secret token refused")
            raise tornado.web.HTTPError(403)
        try:
            raw: Any = json.loads(self.request.body)
        except ValueError:
            raise tornado.web.HTTPError(400, "not JSON") from None
        if update_id(raw) is None:
            raise tornado.web.HTTPError(400, "no update_id")
        # A failure to commit raises: Telegram gets a 500 and sends the update again later.
        await self.inbox.store([raw])
        self.set_status(200)
        self.finish()

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies; the secret token guards the endpoint
        return


class WebhookServer:
    """Listens on ``listen:port`` for POSTs to the webhook URL's path (TLS ends at the reverse proxy)."""

    def __init__(self, webhook: Webhook, inbox: UpdateInbox) -> None:
        self.webhook = webhook
        path = "/" + webhook.url_path if webhook.url_path else "/"
        app = tornado.web.Application([(path, _Endpoint, {"inbox": inbox, "secret": webhook.secret})])
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY)
        self.running = False

    def start(self) -> None:
        self._server.listen(self.webhook.port, address=self.webhook.listen)
        self.running = True

    async def stop(self) -> None:
        self.running = False
        self._server.stop()
        await self._server.close_all_connections()
