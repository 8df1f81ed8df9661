-- Version 3: the wait estimate reads the latest first responses on every hand-over; without an index that
-- is a scan of all tickets ever created.

CREATE INDEX tickets_first_response ON tickets (first_response_at) WHERE first_response_at IS NOT NULL;
