-- Staff posts: every message the bot itself posted into the staff group for a ticket (the card, status
-- lines, mirrored customer messages, copies of their media), so `customer forget` can delete them there.

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
