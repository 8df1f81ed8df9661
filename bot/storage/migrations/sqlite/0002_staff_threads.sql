-- Version 2: staff-channel bookkeeping (ticket -> forum topic, our message <-> channel message ids).

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
