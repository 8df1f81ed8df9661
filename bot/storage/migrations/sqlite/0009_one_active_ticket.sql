-- One active ticket per customer, guaranteed by the database (issue #16): with several replicas, two turns
-- of one customer deciding "no ticket yet, create one" at the same moment must not open two. The partial
-- unique index makes the second INSERT a conflict, which create_ticket answers with the existing ticket.
-- A database that already has several active tickets for one customer keeps the newest (the one the bot
-- and staff work with, see active_ticket) and closes the older ones as handed back, logged in events.

INSERT INTO events (ticket_id, actor, kind, detail, created_at)
    SELECT t.id, 'bot', 'duplicate_closed',
           json_object('kept', (SELECT max(n.id) FROM tickets n WHERE n.customer_id = t.customer_id
                                 AND n.status <> 'resolved')),
           strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
    FROM tickets t
    WHERE t.status <> 'resolved' AND t.id < (SELECT max(n.id) FROM tickets n
                                              WHERE n.customer_id = t.customer_id AND n.status <> 'resolved');

UPDATE tickets SET status = 'resolved', resolution = 'handed_back', snoozed_until = NULL,
       resolved_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'),
       updated_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
    WHERE status <> 'resolved' AND id < (SELECT max(n.id) FROM tickets n
                                         WHERE n.customer_id = tickets.customer_id AND n.status <> 'resolved');

CREATE UNIQUE INDEX tickets_one_active ON tickets (customer_id) WHERE status <> 'resolved';
