-- SQL of the bridge from a running wg-portal (services/bridge, services/api/ingest.py).

-- name: ensure_reported_status_row
-- A status row for a peer wg-portal reports on, so it can be locked; a row that is new comes back.
INSERT INTO peer_status (peer_identifier, interface_identifier)
VALUES (%(identifier)s, %(interface_identifier)s)
ON CONFLICT (peer_identifier) DO NOTHING
RETURNING peer_identifier;

-- name: lock_status_row
-- Lock one peer's status row.
SELECT * FROM peer_status WHERE peer_identifier = %(identifier)s FOR UPDATE;

-- name: store_reported_status
-- Store a peer's status as wg-portal reported it (its own grace logic is wg-portal's business).
UPDATE peer_status SET
    interface_identifier = %(interface_identifier)s,
    is_connected = %(is_connected)s,
    is_pingable = %(is_pingable)s,
    last_ping = %(last_ping)s,
    bytes_received = %(bytes_received)s,
    bytes_transmitted = %(bytes_transmitted)s,
    endpoint = %(endpoint)s,
    last_handshake = %(last_handshake)s,
    last_session_start = %(last_session_start)s,
    disconnected_since = NULL,
    updated_at = %(updated_at)s
WHERE peer_identifier = %(peer_identifier)s;

-- name: count_unrecognised
-- One more envelope from wg-portal delivered verbatim.
INSERT INTO ingest_unrecognised (entity, event, count) VALUES (%(entity)s, %(event)s, 1)
ON CONFLICT (entity, event) DO UPDATE SET count = ingest_unrecognised.count + 1;

-- name: unrecognised_counts
-- The verbatim deliveries so far, for /metrics.
SELECT entity, event, count FROM ingest_unrecognised ORDER BY entity, event;
