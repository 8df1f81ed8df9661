-- The web channel (docs/web.md).
-- message_seq numbers every message a customer can see (theirs, the bot's, an agent's reply; never an
-- internal note) 1, 2, 3 … within that customer's conversation, so a widget that reconnects says "I have up
-- to 17" and gets exactly what it missed. A trigger numbers each new row in the INSERT's own transaction, so
-- no code path that stores a message can forget it and two writers can never take the same number.
-- web_keys holds the secret that signs web visitor tokens, generated on first start.

CREATE TABLE message_seq (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    seq INTEGER NOT NULL CHECK (seq > 0),
    UNIQUE (customer_id, seq)
) STRICT;

INSERT INTO message_seq (message_id, customer_id, seq)
    SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY id)
    FROM messages WHERE private = 0;

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
