"""Who a staff member is, as opposed to what they are called.

An agent is stored as one string (``tickets.assignee``, ``events.actor``, ``messages.agent``). On the command
line it is a login or ``--as`` name, trusted like the shell account behind it. In the Telegram staff group
anybody can call themselves "Mia", so there the string is ``"Mia [tg:4711]"``: the display name for people,
the platform's user id in brackets for the rules. Ownership ("is this ticket yours?") compares identities
only, so another "Mia" cannot act as Mia, a renamed Mia keeps her tickets, and the log names the id.
"""

from __future__ import annotations

import re

_LABELLED = re.compile(r"^(?P<name>.*?)\s*\[(?P<id>[a-z]+:[^\[\]\s]+)\]$", re.DOTALL)


def agent_label(name: str, identity: str) -> str:
    """``"Mia [tg:4711]"``: what is stored for an agent the platform identifies by ``identity``."""
    return f"{name.strip() or identity} [{identity}]"


def agent_identity(agent: str) -> str:
    """The part that decides: ``tg:4711`` for ``"Mia [tg:4711]"``, the whole name for a CLI agent.

    Only the last bracket counts, so a display name that itself ends in ``[tg:…]`` cannot borrow an id.
    """
    match = _LABELLED.match(agent)
    return match["id"] if match else agent


def agent_display(agent: str) -> str:
    """The part people read: ``Mia`` for ``"Mia [tg:4711]"`` (customers see this in ``agent_reply``)."""
    match = _LABELLED.match(agent)
    return (match["name"] or match["id"]) if match else agent


def same_agent(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and agent_identity(a) == agent_identity(b)
