"""Telegram: customers write to the bot privately; staff work tickets as topics in one forum supergroup.

- ``config``: the environment, checked once (one line naming a bad variable);
- ``app``: the only place the PTB ``Application`` is built, rate limiting, log redaction;
- ``channel``: delivery to customers (the outbox's ``telegram`` channel), errors mapped for retries;
- ``customers``: private chats to :class:`bot.channels.base.Inbound` for the conversation engine;
- ``topics``: the outbox's ``staff`` channel as forum topics with ticket cards;
- ``staff``: the staff group's buttons, topic messages and commands, through ``StaffService``;
- ``threads``: which message a reply answers, so replies thread both ways;
- ``text``: Telegram's length limits, escaping, keyboards;
- ``runtime``: everything wired together and run until stopped (``python -m bot run``).

See ``docs/telegram.md``.
"""
