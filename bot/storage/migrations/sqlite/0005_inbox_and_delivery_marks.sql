-- Inbox of raw channel updates and in-flight marks of the outbox (issue #12).
-- inbound_updates: every update a channel received, committed BEFORE the platform is told it arrived
-- (Telegram's getUpdates offset, a webhook's 2xx), then processed from here; raw is dropped once done.
-- outbox_sending: a row is marked before the channel call, so a reply that was being sent when the
-- process died is sent again at most once per crash, and counted.

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
