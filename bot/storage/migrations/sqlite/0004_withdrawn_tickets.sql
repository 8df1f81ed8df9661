-- Version 4 (issue #13): a customer can withdraw a ticket ("never mind"), which is its own resolution,
-- 'withdrawn', not "resolved by staff". SQLite cannot alter a CHECK constraint, so the tickets table is
-- rebuilt (the documented twelve-step way: bot.storage.migrate turns foreign keys off around migrations
-- and runs PRAGMA foreign_key_check before committing). Columns, rows and indexes are unchanged.

CREATE TABLE tickets_new (
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

INSERT INTO tickets_new (id, customer_id, status, priority, reason, assignee, anger, anger_reasons, summary, created_at, waiting_since, first_response_due, resolution_due, first_response_at, resolved_at, resolution, snoozed_until, rating_asked_at, updated_at)
SELECT id, customer_id, status, priority, reason, assignee, anger, anger_reasons, summary, created_at, waiting_since, first_response_due, resolution_due, first_response_at, resolved_at, resolution, snoozed_until, rating_asked_at, updated_at FROM tickets;

DROP TABLE tickets;

ALTER TABLE tickets_new RENAME TO tickets;

CREATE INDEX tickets_queue ON tickets (status, priority_rank DESC, waiting_since, id);
CREATE INDEX tickets_customer ON tickets (customer_id, id);
CREATE INDEX tickets_first_response ON tickets (first_response_at) WHERE first_response_at IS NOT NULL;
