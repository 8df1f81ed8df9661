-- The current schema, used to create a new database in one step. Existing databases reach the same schema
-- through migrations/NNNN_*.sql; tests/storage/test_migrations.py proves the two paths agree.
-- Times are UTC ISO 8601 text of fixed width ('2026-01-31T12:00:00.000000+00:00'), so text order is time
-- order. Enum columns hold bot.core.model's string values; CHECK constraints keep them honest.

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

-- "tickets" is quoted because migration 0004 (withdrawn tickets) rebuilt it: SQLite stores a renamed
-- table's CREATE statement that way, and tests/storage/test_migrations.py compares the two paths verbatim.
CREATE TABLE "tickets" (
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
    resolution TEXT CHECK (resolution IN ('resolved', 'handed_back', 'blocked', 'withdrawn')),
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
CREATE INDEX tickets_first_response ON tickets (first_response_at) WHERE first_response_at IS NOT NULL;

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

CREATE TABLE ticket_threads (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    thread_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (ticket_id, channel),
    UNIQUE (channel, thread_id)
) STRICT;

CREATE TABLE message_links (
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    external_chat_id TEXT NOT NULL,
    external_message_id TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    PRIMARY KEY (channel, external_chat_id, external_message_id)
) STRICT;

CREATE INDEX message_links_message ON message_links (message_id);

-- Issue #12 (migration 0004_inbox_and_delivery_marks): inbound_updates, outbox_sending.
CREATE TABLE inbound_updates (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    external_id TEXT NOT NULL CHECK (length(external_id) > 0),
    chat TEXT NOT NULL DEFAULT '',
    raw TEXT CHECK (raw IS NULL OR json_valid(raw)),
    received_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'poisoned')),
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    finished_at TEXT,
    UNIQUE (channel, external_id),
    CHECK (state = 'done' OR raw IS NOT NULL),
    CHECK ((state = 'pending') = (finished_at IS NULL))
) STRICT;

CREATE INDEX inbound_updates_pending ON inbound_updates (channel, id) WHERE state = 'pending';
CREATE INDEX inbound_updates_finished ON inbound_updates (finished_at) WHERE state <> 'pending';

CREATE TABLE outbox_sending (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox (id),
    sending_since TEXT,
    resends INTEGER NOT NULL DEFAULT 0 CHECK (resends >= 0)
) STRICT;
-- Staff posts (#12, forget means forget): every message the bot itself posted into the staff group for a
-- ticket (the card, status lines, mirrored customer messages, copies of their media), so `customer forget`
-- can delete them there.

CREATE TABLE staff_posts (
    channel TEXT NOT NULL CHECK (length(channel) > 0),
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL CHECK (kind IN ('card', 'post', 'copy')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id, message_id)
) STRICT;

CREATE INDEX staff_posts_ticket ON staff_posts (ticket_id);
-- Staff accounts, API tokens and sessions of the browser inbox (staff_accounts, staff_tokens,
-- staff_sessions; see bot/storage/accounts.py).
CREATE TABLE staff_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(name) BETWEEN 1 AND 40),
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
) STRICT;

CREATE TABLE staff_tokens (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
) STRICT;

CREATE INDEX staff_tokens_account ON staff_tokens (account_id);

CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX staff_sessions_account ON staff_sessions (account_id);
-- The web channel (migration web_channel): message_seq (a number per visible message in its conversation,
-- set by the trigger message_seq_number) and web_keys (the visitor-token secret).

CREATE TABLE message_seq (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    seq INTEGER NOT NULL CHECK (seq > 0),
    UNIQUE (customer_id, seq)
) STRICT;

CREATE TRIGGER message_seq_number AFTER INSERT ON messages WHEN NEW.private = 0
BEGIN
    INSERT INTO message_seq (message_id, customer_id, seq)
        VALUES (NEW.id, NEW.customer_id,
                (SELECT coalesce(max(seq), 0) + 1 FROM message_seq WHERE customer_id = NEW.customer_id));
END;

CREATE TABLE web_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (length(value) >= 32),
    created_at TEXT NOT NULL
) STRICT;

-- One active ticket per customer (migration 0009_one_active_ticket, issue #16).
CREATE UNIQUE INDEX tickets_one_active ON tickets (customer_id) WHERE status <> 'resolved';

-- Several replicas (migration 0010_replicas): leases, budgets, generations; see bot/storage/coordination.py.
CREATE TABLE leases (
    scope TEXT NOT NULL CHECK (length(scope) > 0),
    key TEXT NOT NULL,
    owner TEXT NOT NULL CHECK (length(owner) > 0),
    lease_until TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

CREATE INDEX leases_owner ON leases (owner);

-- A chat's oldest pending update is the only one a replica may claim: found by this index, not by a scan.
CREATE INDEX inbound_updates_chat ON inbound_updates (channel, chat, id) WHERE state = 'pending';

CREATE TABLE budgets (
    name TEXT PRIMARY KEY CHECK (length(name) > 0),
    window_no INTEGER NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    blocked_until TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE generations (
    name TEXT PRIMARY KEY CHECK (length(name) > 0),
    value INTEGER NOT NULL CHECK (value >= 0),
    changed_at TEXT NOT NULL
) STRICT;
