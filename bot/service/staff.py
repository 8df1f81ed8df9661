"""What support staff do to tickets, shared by the CLI and the Telegram staff group.

Every action runs in one ``BEGIN IMMEDIATE`` transaction: the check ("is it still open? is it yours?"),
the change, the customer's message in the outbox, the event and the staff notification commit together
or not at all. The rules (who may touch a ticket, where a reopened ticket goes) are in ``docs/queue.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.agents import agent_display, same_agent
from bot.core.model import Author, TicketStatus
from bot.core.render import Renderer
from bot.messages import Button, encodable
from bot.service.clock import Clock, utcnow
from bot.storage import Customer, Database, Resolution, Ticket, Tx

MAX_SNOOZE = timedelta(days=90)
"""The longest snooze: further ahead is a typo (``99999d``) or a ticket that should be resolved."""


class StaffError(Exception):
    """The action is not possible now; the message says why, for the agent to read.

    The message names no surface's syntax (no command, no button): the command line, the Telegram group and
    the inbox all show it, and each may add its own hint (see :class:`TicketHeld`)."""


class TicketHeld(StaffError):
    """Another agent holds the ticket. Each surface says in its own words how to take it over
    (``claim 3 --force``, ``/claim force``, the inbox's Claim button); ``situation`` is the part they share."""

    def __init__(self, ticket_id: int, status: str, holder: str) -> None:
        self.ticket_id = ticket_id
        self.holder = holder
        self.situation = f"ticket #{ticket_id} is {status} with {holder}"
        super().__init__(f"{self.situation}; take it over first")


@dataclass(frozen=True, slots=True)
class _Acting:
    """One staff action in progress: its transaction, the ticket as it was, its customer, the time."""

    tx: Tx
    ticket: Ticket
    customer: Customer
    now: datetime


def _required(text: str, what: str) -> str:
    # Staff text enters here as customer text enters through ``Inbound``: unencodable pieces become U+FFFD.
    text = encodable(text).strip()
    if not text:
        raise StaffError(f"the {what} is empty")
    return text


class StaffService:
    def __init__(
        self,
        db: Database,
        renderer: Callable[[], Renderer],
        *,
        source: str = "cli",
        notify_staff: bool = True,
        clock: Clock = utcnow,
        name_source: bool = False,
    ) -> None:
        """``renderer`` is called per action so a reloaded intents folder is used at once.

        ``source`` travels in every staff notification, so the staff group can skip echoing an action
        that was taken in the group itself. ``notify_staff=False`` when no staff group exists to deliver
        them (its outbox rows would wait forever). ``name_source`` names the surface beside the agent in
        those notifications ("Alice (inbox) replied"), for surfaces the staff group cannot see otherwise.
        """
        self.db = db
        self.renderer = renderer
        self.source = source
        self.notify_staff = notify_staff
        self.clock = clock
        self.name_source = name_source

    # --- helpers -----------------------------------------------------------------------------------------

    async def _ticket(self, tx: Tx, ticket_id: int) -> Ticket:
        ticket = await tx.ticket(ticket_id)
        if ticket is None:
            raise StaffError(f"there is no ticket #{ticket_id}")
        return ticket

    async def _customer(self, tx: Tx, ticket: Ticket) -> Customer:
        customer = await tx.customer(ticket.customer_id)
        assert customer is not None, "tickets reference customers (foreign key)"
        return customer

    @asynccontextmanager
    async def _acting(self, ticket_id: int, agent: str, *, owner: bool = True) -> AsyncIterator[_Acting]:
        """Open the transaction and check the ticket: it exists, is not resolved, and (``owner``) is
        not held by someone else."""
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.lock_ticket(ticket_id)  # other replicas' turns and staff actions on it wait (PostgreSQL)
            ticket = await self._ticket(tx, ticket_id)
            self._require_active(ticket)
            if owner:
                self._require_owner(ticket, agent)
            yield _Acting(tx, ticket, await self._customer(tx, ticket), now)

    @staticmethod
    def _require_active(ticket: Ticket) -> None:
        if ticket.status is TicketStatus.RESOLVED:
            raise StaffError(f"ticket #{ticket.id} is resolved; reopen it first")

    @staticmethod
    def _require_owner(ticket: Ticket, agent: str) -> None:
        """One agent per ticket: nobody works a ticket someone else holds without taking it over."""
        if (
            ticket.assignee is not None
            and not same_agent(ticket.assignee, agent)
            and ticket.status is not TicketStatus.OPEN
        ):
            raise TicketHeld(ticket.id, ticket.status.value, ticket.assignee)

    def _who(self, agent: str) -> str:
        """The agent as the staff group reads it in a notification."""
        return f"{agent} ({self.source})" if self.name_source else agent

    async def _notify(self, act: _Acting, action: str, agent: str, text: str) -> None:
        """A ``ticket_updated`` row for the staff channel; ``text`` is what the staff group shows."""
        if not self.notify_staff:
            return
        ticket = await act.tx.ticket(act.ticket.id)
        payload: dict[str, object] = {
            "action": action,
            "agent": agent,
            "status": ticket.status.value if ticket else None,
            "source": self.source,
            "text": text,
        }
        await act.tx.enqueue_staff("ticket_updated", act.ticket.id, payload, act.now)

    async def _tell(self, act: _Acting, text: str, buttons: tuple[Button, ...] = ()) -> None:
        """A message from the bot to the ticket's customer, through the outbox."""
        await act.tx.enqueue_outbound(
            act.customer.id,
            text=text,
            buttons=buttons,
            author=Author.BOT,
            ticket_id=act.ticket.id,
            now=act.now,
        )

    # --- actions -------------------------------------------------------------------------------------------

    async def claim(self, ticket_id: int, agent: str, *, force: bool = False) -> bool:
        """True if ``agent`` now holds the ticket; False if someone else got it first."""
        async with self._acting(ticket_id, agent, owner=False) as act:
            ticket = act.ticket
            if same_agent(ticket.assignee, agent) and ticket.status is not TicketStatus.OPEN:
                return True
            won = await act.tx.claim(ticket_id, agent, act.now, force=force)
            if won:
                taken = (
                    f" (taken over from {agent_display(ticket.assignee)})"
                    if ticket.assignee is not None and not same_agent(ticket.assignee, agent)
                    else ""
                )
                await self._notify(act, "claimed", agent, f"✋ {self._who(agent)} took the ticket{taken}")
            return won

    async def claim_next(self, agent: str) -> Ticket | None:
        """Take the most urgent, longest-waiting open ticket; None when the queue is empty."""
        now = self.clock()
        async with self.db.transaction() as tx:
            ticket = await tx.claim_next(agent, now)
            if ticket is not None:
                act = _Acting(tx, ticket, await self._customer(tx, ticket), now)
                await self._notify(act, "claimed", agent, f"✋ {self._who(agent)} took the ticket")
            return ticket

    async def reply(self, ticket_id: int, agent: str, text: str, *, wait: bool = False) -> int:
        """Send ``text`` to the customer (wrapped so they know a human writes); returns the outbox id.

        The first reply stamps the first-response time; an open ticket becomes the replier's. ``wait``
        marks the ticket as waiting for the customer, whose next message puts it back in the queue.
        """
        text = _required(text, "reply")
        async with self._acting(ticket_id, agent) as act:
            wrapped = self.renderer().agent_reply(agent, text, act.customer.language)
            outbox_id = await act.tx.enqueue_outbound(
                act.customer.id,
                text=wrapped,
                author=Author.AGENT,
                ticket_id=ticket_id,
                agent=agent,
                now=act.now,
            )
            await act.tx.mark_first_response(ticket_id, agent, act.now)
            first = act.ticket.first_response_at is None
            await act.tx.add_event(
                ticket_id, agent, "reply", {"outbox_id": outbox_id, "first": first}, act.now
            )
            if wait:
                await act.tx.set_waiting(ticket_id, agent, act.now)
            await self._notify(act, "reply", agent, f"↩️ {self._who(agent)} replied:\n{text}")
            return outbox_id

    async def note(self, ticket_id: int, agent: str, text: str) -> int:
        """An internal note for colleagues; the customer never sees it, any agent may add one."""
        text = _required(text, "note")
        now = self.clock()
        async with self.db.transaction() as tx:
            ticket = await self._ticket(tx, ticket_id)
            message_id = await tx.add_note(ticket_id, agent, text, now)
            act = _Acting(tx, ticket, await self._customer(tx, ticket), now)
            await self._notify(act, "note", agent, f"📝 {self._who(agent)} noted:\n{text}")
            return message_id

    async def snooze(self, ticket_id: int, agent: str, until: datetime) -> None:
        """Out of the queue until ``until`` (or until the customer writes), then back to whoever is on duty.

        At most :data:`MAX_SNOOZE` ahead."""
        now = self.clock()
        if until <= now:
            raise StaffError(f"{until:%Y-%m-%d %H:%M} UTC is not in the future")
        if until - now > MAX_SNOOZE:
            raise StaffError(
                f"a snooze can last at most {MAX_SNOOZE.days} days; resolve the ticket instead "
                "(the customer can always write again)"
            )
        async with self._acting(ticket_id, agent) as act:
            await act.tx.snooze(ticket_id, agent, until, act.now)
            await self._notify(
                act, "snoozed", agent, f"💤 {self._who(agent)} snoozed it until {until:%Y-%m-%d %H:%M} UTC"
            )

    async def resolve(self, ticket_id: int, agent: str) -> None:
        """Close the ticket, tell the customer, and ask for a 1-5 rating (buttons ``rate:<id>:<n>``)."""
        async with self._acting(ticket_id, agent) as act:
            ask = not act.customer.blocked
            await act.tx.resolve(ticket_id, agent, act.now, ask_rating=ask)
            if ask:
                renderer = self.renderer()
                await self._tell(act, renderer.message("resolved", act.customer.language))
                rate = renderer.message("rate", act.customer.language)
                await self._tell(act, rate, renderer.rating_buttons(ticket_id))
            await self._notify(act, "resolved", agent, f"✅ {self._who(agent)} resolved the ticket")

    async def reopen(self, ticket_id: int, agent: str) -> None:
        """Back to the queue as ``open`` with nobody assigned, whatever state it was in."""
        now = self.clock()
        async with self.db.transaction() as tx:
            ticket = await self._ticket(tx, ticket_id)
            if ticket.status is TicketStatus.OPEN and ticket.assignee is None:
                raise StaffError(f"ticket #{ticket_id} is already open in the queue")
            customer = await self._customer(tx, ticket)
            if customer.blocked:
                raise StaffError(f"customer #{customer.id} is blocked; unblock them first")
            await tx.reopen(ticket_id, agent, now)
            act = _Acting(tx, ticket, customer, now)
            await self._notify(
                act, "reopened", agent, f"🔁 {self._who(agent)} put the ticket back in the queue"
            )

    async def handback(self, ticket_id: int, agent: str) -> None:
        """Give the conversation back to the bot: the customer is told, the ticket closes without a rating."""
        async with self._acting(ticket_id, agent) as act:
            await act.tx.resolve(
                ticket_id, agent, act.now, resolution=Resolution.HANDED_BACK, ask_rating=False
            )
            if not act.customer.blocked:
                await self._tell(act, self.renderer().message("back_to_bot", act.customer.language))
            await self._notify(act, "handed_back", agent, f"🤖 {self._who(agent)} handed it back to the bot")

    async def block(self, customer_id: int, agent: str, *, blocked: bool = True) -> list[int]:
        """Block (or unblock) a customer; blocking closes their active tickets silently. Returns those ids."""
        now = self.clock()
        async with self.db.transaction() as tx:
            customer = await tx.customer(customer_id)
            if customer is None:
                raise StaffError(f"there is no customer #{customer_id}")
            return await self._block(tx, customer, agent, blocked, now)

    async def block_ticket_customer(
        self, ticket_id: int, agent: str, *, blocked: bool = True
    ) -> tuple[Customer, list[int]]:
        """Block (or unblock) the customer who wrote ticket ``ticket_id``, the number staff see.

        Returns the customer and the tickets closed, in one transaction with the lookup."""
        now = self.clock()
        async with self.db.transaction() as tx:
            ticket = await self._ticket(tx, ticket_id)
            customer = await self._customer(tx, ticket)
            return customer, await self._block(tx, customer, agent, blocked, now)

    async def _block(self, tx: Tx, customer: Customer, agent: str, blocked: bool, now: datetime) -> list[int]:
        closed: list[int] = []
        if not await tx.set_blocked(customer.id, blocked):
            raise StaffError(f"there is no customer #{customer.id}")
        kind = "customer_blocked" if blocked else "customer_unblocked"
        await tx.add_event(None, agent, kind, {"customer_id": customer.id}, now)
        if blocked:
            for ticket in await tx.customer_tickets(customer.id):
                if ticket.status is not TicketStatus.RESOLVED and await tx.resolve(
                    ticket.id, agent, now, resolution=Resolution.BLOCKED, ask_rating=False
                ):
                    closed.append(ticket.id)
                    act = _Acting(tx, ticket, customer, now)
                    await self._notify(act, "blocked", agent, f"⛔ {self._who(agent)} blocked the customer")
        return closed
