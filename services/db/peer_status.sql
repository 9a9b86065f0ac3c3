-- What the collector writes into peer_status and what the metrics routes read from it.
-- Loaded by services/db/queries.py.

-- name: known_interfaces
-- The interfaces of a dump that the database knows.
SELECT identifier FROM interfaces WHERE identifier = ANY(%(names)s);

-- name: known_peers
-- The dump's peers that are peers of the same interface in the database. FOR KEY SHARE: a
-- concurrent delete or re-key of the peer waits for this transaction (and then removes the
-- status row too), so no status row outlives its peer.
SELECT p.identifier, p.interface_identifier
FROM peers p
JOIN unnest(%(keys)s::text[], %(interfaces)s::text[]) AS seen(key, interface)
  ON p.identifier = seen.key AND p.interface_identifier = seen.interface
ORDER BY p.identifier
FOR KEY SHARE OF p;

-- name: ensure_status_rows
-- A status row for each peer seen for the first time ("never connected"), so it can be locked.
INSERT INTO peer_status (peer_identifier, interface_identifier)
SELECT key, interface
FROM unnest(%(keys)s::text[], %(interfaces)s::text[]) AS seen(key, interface)
ORDER BY key
ON CONFLICT (peer_identifier) DO NOTHING;

-- name: lock_status_rows
-- Lock the status rows, in key order (two collectors never wait on each other in a cycle).
SELECT * FROM peer_status
WHERE peer_identifier = ANY(%(keys)s)
ORDER BY peer_identifier
FOR UPDATE;

-- name: update_status_row
-- Store one peer's new status.
UPDATE peer_status SET
    interface_identifier = %(interface_identifier)s,
    is_connected = %(is_connected)s,
    bytes_received = %(bytes_received)s,
    bytes_transmitted = %(bytes_transmitted)s,
    endpoint = %(endpoint)s,
    last_handshake = %(last_handshake)s,
    last_session_start = %(last_session_start)s,
    disconnected_since = %(disconnected_since)s,
    updated_at = %(updated_at)s
WHERE peer_identifier = %(peer_identifier)s;

-- name: peers_by_keys
-- The peer rows of these public keys (a flip published in the peer_metric format needs them).
SELECT * FROM peers WHERE identifier = ANY(%(keys)s);

-- name: status_of_peers
-- The status rows of these peers.
SELECT * FROM peer_status WHERE peer_identifier = ANY(%(keys)s);

-- name: interface_traffic
-- The bytes received and sent by the peers of an interface, summed over their status rows.
SELECT coalesce(sum(s.bytes_received), 0), coalesce(sum(s.bytes_transmitted), 0)
FROM peers p JOIN peer_status s ON s.peer_identifier = p.identifier
WHERE p.interface_identifier = %(identifier)s;

-- name: delete_peer_status
-- Remove a peer's status row (the peer is deleted or re-keyed).
DELETE FROM peer_status WHERE peer_identifier = %(identifier)s;
