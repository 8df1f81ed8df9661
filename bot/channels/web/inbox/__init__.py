"""The staff inbox in the browser: ``/inbox`` (page and static files), ``/login``, ``/logout``, the JSON
API under ``/api`` and its description at ``/openapi.json``.

The web app mounts :func:`inbox_routes`; everything the routes need comes in :class:`InboxDeps`. See
``docs/inbox.md``.
"""

from bot.channels.web.inbox.deps import SOURCE, InboxDeps
from bot.channels.web.inbox.routes import inbox_routes

__all__ = ["SOURCE", "InboxDeps", "inbox_routes"]
