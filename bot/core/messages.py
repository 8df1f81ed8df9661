"""The catalogue of message names: every sentence the bot says that is not an intent's answer.

Editors override any of them in ``messages:``; the package ships a default for each in
``bot/content/default_messages.yaml``. ``extra`` lists placeholders supplied only to that message, on top of
the folder's variables and :data:`bot.core.templates.RUNTIME_VARIABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MessageSpec:
    purpose: str
    extra: frozenset[str] = frozenset()


MESSAGES: dict[str, MessageSpec] = {
    "greeting": MessageSpec("First contact or /start. Must say plainly that this is an automated assistant."),
    "clarify": MessageSpec("Two or more intents fit about equally; shown with one button per candidate."),
    "not_understood": MessageSpec("First miss: ask to rephrase and offer a human (a button follows)."),
    "handoff": MessageSpec("Handed to a human: carries the real $ticket_id and the honest $eta."),
    "handoff_ack": MessageSpec("The customer writes again while a human has the ticket."),
    "resolved": MessageSpec("A human closed the ticket; the bot answers again from now on."),
    "rate": MessageSpec("Ask for a 1-5 rating after a resolved ticket (buttons where the channel has them)."),
    "rate_thanks": MessageSpec("Thanks for the rating.", frozenset({"rating"})),
    "rate_not_counted": MessageSpec(
        "A rating that does not count: not the customer's own resolved ticket, already rated, or too late."
    ),
    "back_to_bot": MessageSpec("Staff handed the conversation back to the automated assistant."),
    "attachment_received": MessageSpec(
        "The customer sent a photo, voice message, sticker or file, which the bot cannot read; "
        "it goes to a human (the handoff message follows).",
        frozenset({"kind"}),
    ),
    "agent_reply": MessageSpec(
        "Wraps a support agent's reply, so the customer knows a human is answering.",
        frozenset({"agent", "text"}),
    ),
    "eta_minutes": MessageSpec("Wait estimate in minutes, inserted as $eta.", frozenset({"minutes"})),
    "eta_hours": MessageSpec("Wait estimate in hours, inserted as $eta.", frozenset({"hours"})),
    "eta_unknown": MessageSpec("No data to estimate the wait yet; inserted as $eta. Say so honestly."),
    "button_human": MessageSpec("Label of the 'talk to a human' button."),
    "button_none": MessageSpec("Label of the 'none of these' button under a clarifying question."),
    "language_changed": MessageSpec("Confirms a language switch (/language)."),
    # Issue #13: never trap a customer.
    "handoff_angry": MessageSpec(
        "Handed to a human because the customer is upset: acknowledge the frustration, apologise, and carry "
        "the real $ticket_id and honest $eta like handoff."
    ),
    "handoff_after_answer": MessageSpec(
        "Appended to the answer of an escalating intent (escalate: true), in the same message: the team "
        "follows up as well. Carries $ticket_id and $eta; no second hotline, the answer already has one."
    ),
    "withdrawn": MessageSpec(
        'The customer withdrew their request ("never mind" or the button): the ticket $ticket_id is '
        "closed and the bot answers again."
    ),
    "declined": MessageSpec(
        "The customer said no to being passed on: the bot stays available and says how to reach a person "
        "later (/human)."
    ),
    "rephrase": MessageSpec(
        '"None of these" after a clarifying question: invite the customer once to say it differently '
        "(a 'talk to a person' button follows)."
    ),
    "help": MessageSpec("/help and unknown commands: what the bot can do, plus /human and /language."),
    "acknowledged": MessageSpec("The customer only acknowledged (ok, 👍, alles klar): a polite close."),
    "partly_understood": MessageSpec(
        "A message asked several things and only some were answered: say honestly that the rest was not "
        "understood (a 'talk to a person' button follows)."
    ),
    "button_withdraw": MessageSpec("Label of the button under the hand-over message that withdraws it."),
    # The web widget's own labels (bot/channels/web/static/widget.js); sent to the page, never stored.
    "web_title": MessageSpec("Web widget: the title in its header."),
    "web_intro": MessageSpec(
        "Web widget: the line under the title. Must say it is the company's automated assistant and that a "
        "person from the team takes over when needed."
    ),
    "web_launcher": MessageSpec("Web widget: the button that opens the chat. Must contain the word 'Chat'."),
    "web_close": MessageSpec("Web widget: the button that closes the chat."),
    "web_message": MessageSpec("Web widget: the name of the text box (screen readers read it)."),
    "web_send": MessageSpec("Web widget: the send button."),
    "web_typing": MessageSpec("Web widget: shown while the assistant works on an answer."),
    "web_label_bot": MessageSpec("Web widget: the label above the automated assistant's messages."),
    "web_label_team": MessageSpec(
        "Web widget: the label above a reply from a person of the team.", frozenset({"agent"})
    ),
    "web_label_you": MessageSpec("Web widget: the label above the customer's own messages."),
    "web_ticket": MessageSpec(
        "Web widget: the hand-over bar while a ticket is open ($ticket_id, and $eta: the honest estimate)."
    ),
    "web_offline": MessageSpec("Web widget: no connection; messages typed now are sent when it is back."),
    "web_pending": MessageSpec("Web widget: under a message that is not yet confirmed by the server."),
    "web_rate_limited": MessageSpec(
        "Web widget: the customer writes too fast; the message is sent automatically after $seconds.",
        frozenset({"seconds"}),
    ),
    "web_too_long": MessageSpec(
        "Web widget: a message is longer than $limit characters ($length now); nothing is sent.",
        frozenset({"limit", "length"}),
    ),
    "web_attachments": MessageSpec(
        "Web widget: a file or picture was dropped or pasted; say honestly that it cannot be received yet."
    ),
    "web_unavailable": MessageSpec("Web widget: the chat cannot connect at all (refused or server down)."),
    "web_unread": MessageSpec(
        "Web widget: on the closed launcher when a reply arrived (a person's reply, say)."
    ),
}
