-- Several replicas on one database (docs/replicas-coordination.md): work is claimed with leases, Telegram's
-- rate limits are shared, a staff /reload reaches every replica. The same tables as SQLite's 0010_replicas.
-- leases: who holds what until when (scope 'outbox', 'inbox:<channel>', 'job'); budgets: a fixed window of
-- sends per name and the time a 429 told every replica to wait until; generations: counters every replica
-- polls. inbox_changed: a NOTIFY on carebot_inbox at the commit of any change the staff inbox's event
-- stream shows (new tickets and ticket changes, new messages, events), so every replica's streams look at
-- once instead of at their next poll.

CREATE TABLE leases (
    scope TEXT NOT NULL CHECK (length(scope) > 0),
    key TEXT NOT NULL,
    owner TEXT NOT NULL CHECK (length(owner) > 0),
    lease_until TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX leases_owner ON leases (owner);

-- A chat's oldest pending update is the only one a replica may claim: found by this index, not by a scan.
CREATE INDEX inbound_updates_chat ON inbound_updates (channel, chat, id) WHERE state = 'pending';

CREATE TABLE budgets (
    name TEXT PRIMARY KEY CHECK (length(name) > 0),
    window_no BIGINT NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    blocked_until TEXT NOT NULL DEFAULT ''
);

CREATE TABLE generations (
    name TEXT PRIMARY KEY CHECK (length(name) > 0),
    value BIGINT NOT NULL CHECK (value >= 0),
    changed_at TEXT NOT NULL
);

CREATE FUNCTION inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('carebot_inbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER tickets_inbox_changed AFTER INSERT OR UPDATE ON tickets
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

CREATE TRIGGER messages_inbox_changed AFTER INSERT ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();

CREATE TRIGGER events_inbox_changed AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_changed();
