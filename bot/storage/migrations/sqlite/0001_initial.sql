-- Version 1: customers, conversations, tickets, messages, events, ratings, outbox.

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    external_id TEXT NOT NULL CHECK (length(external_id) > 0),
    display_name TEXT NOT NULL DEFAULT '',
    language TEXT,
    blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    created_at TEXT NOT NULL,
    forgotten_at TEXT,
    UNIQUE (channel, external_id)
) STRICT;

CREATE TABLE conversations (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id),
    state TEXT NOT NULL CHECK (json_valid(state)),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    status TEXT NOT NULL CHECK (status IN ('bot', 'open', 'assigned', 'waiting', 'snoozed', 'resolved')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    priority_rank INTEGER NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END
    ) VIRTUAL,
    reason TEXT NOT NULL
        CHECK (reason IN ('unmatched', 'ambiguous', 'angry', 'requested', 'intent', 'attachment')),
    assignee TEXT CHECK (assignee IS NULL OR length(assignee) > 0),
    anger REAL NOT NULL DEFAULT 0 CHECK (anger BETWEEN 0 AND 100),
    anger_reasons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(anger_reasons)),
    summary TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    waiting_since TEXT NOT NULL,
    first_response_due TEXT NOT NULL,
    resolution_due TEXT NOT NULL,
    first_response_at TEXT,
    resolved_at TEXT,
    resolution TEXT CHECK (resolution IN ('resolved', 'handed_back', 'blocked')),
    snoozed_until TEXT,
    rating_asked_at TEXT,
    updated_at TEXT NOT NULL,
    CHECK (status <> 'assigned' OR assignee IS NOT NULL),
    CHECK ((status = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolution IS NOT NULL))
) STRICT;

CREATE INDEX tickets_queue ON tickets (status, priority_rank DESC, waiting_since, id);
CREATE INDEX tickets_customer ON tickets (customer_id, id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    ticket_id INTEGER REFERENCES tickets (id),
    author TEXT NOT NULL CHECK (author IN ('customer', 'bot', 'agent')),
    agent TEXT,
    private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    text TEXT NOT NULL,
    attachment TEXT CHECK (attachment IS NULL OR attachment IN
        ('photo', 'voice', 'audio', 'video', 'sticker', 'document', 'location', 'contact', 'other')),
    payload TEXT,
    buttons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(buttons)),
    channel_message_id TEXT,
    analysis TEXT CHECK (analysis IS NULL OR json_valid(analysis)),
    created_at TEXT NOT NULL,
    handled_at TEXT,
    sent_at TEXT,
    CHECK ((author = 'agent') = (agent IS NOT NULL)),
    CHECK (private = 0 OR author = 'agent'),
    CHECK (author = 'customer' OR handled_at IS NULL),
    CHECK (author <> 'customer' OR sent_at IS NULL)
) STRICT;

CREATE UNIQUE INDEX messages_inbound_dedup ON messages (customer_id, channel_message_id)
    WHERE author = 'customer' AND channel_message_id IS NOT NULL;
CREATE INDEX messages_unhandled ON messages (id) WHERE author = 'customer' AND handled_at IS NULL;
CREATE INDEX messages_customer ON messages (customer_id, id);
CREATE INDEX messages_ticket ON messages (ticket_id, id) WHERE ticket_id IS NOT NULL;

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets (id),
    actor TEXT NOT NULL CHECK (length(actor) > 0),
    kind TEXT NOT NULL CHECK (length(kind) > 0),
    detail TEXT CHECK (detail IS NULL OR json_valid(detail)),
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX events_ticket ON events (ticket_id, id);
CREATE INDEX events_time ON events (created_at);

CREATE TABLE ratings (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    agent TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    kind TEXT NOT NULL CHECK (length(kind) > 0),
    customer_id INTEGER REFERENCES customers (id),
    message_id INTEGER REFERENCES messages (id),
    ticket_id INTEGER REFERENCES tickets (id),
    payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    dedup_key TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    CHECK ((kind = 'message') = (message_id IS NOT NULL)),
    CHECK (kind <> 'message' OR customer_id IS NOT NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
) STRICT;

CREATE INDEX outbox_due ON outbox (channel, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_customer ON outbox (customer_id, id) WHERE status = 'pending';
CREATE UNIQUE INDEX outbox_dedup ON outbox (channel, dedup_key) WHERE dedup_key IS NOT NULL;
