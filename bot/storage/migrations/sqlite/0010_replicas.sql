-- Several replicas on one database (docs/replicas-coordination.md): work is claimed with leases, Telegram's
-- rate limits are shared, a staff /reload reaches every replica.
-- leases: who holds what until when. scope 'outbox' (key: the customer id; 'staff' for the staff group),
-- 'inbox:<channel>' (key: the chat) and 'job' (key: the timed job's name). A replica that dies keeps its rows
-- until lease_until passes; then another one takes them over (and counts the interruption).
-- budgets: a fixed window of sends per name ('telegram', 'telegram:group:<chat>') and the time until which a
-- 429 told every replica to wait.
-- generations: counters every replica polls (the content reload's).

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
