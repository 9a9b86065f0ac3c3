-- The entities of wg-portal's API (users, interfaces, peers): reads with their counts, and the
-- writes whose columns are fixed. Writes of a caller-chosen set of columns compose their
-- identifiers with psycopg.sql in services/db/tables.py. Loaded by services/db/queries.py and
-- run by name through services/db/store.py.

-- name: user_with_peer_count
-- One user with how many peers it owns.
SELECT u.*, (SELECT count(*) FROM peers p WHERE p.user_identifier = u.identifier) AS peer_count
FROM users u
WHERE u.identifier = %(identifier)s;

-- name: users_with_peer_count
-- Every user with how many peers it owns, by identifier.
SELECT u.*, (SELECT count(*) FROM peers p WHERE p.user_identifier = u.identifier) AS peer_count
FROM users u
ORDER BY u.identifier;

-- name: insert_user
-- A new user; no row back when the identifier is taken (the caller reports the conflict).
INSERT INTO users (identifier, email, auth_sources, is_admin, firstname, lastname,
                   phone, department, notes, password_hash, api_token,
                   api_token_created, disabled, disabled_reason, locked,
                   locked_reason, created_by, updated_by, created_at, updated_at)
VALUES (%(identifier)s, %(email)s, %(auth_sources)s, %(is_admin)s, %(firstname)s,
        %(lastname)s, %(phone)s, %(department)s, %(notes)s, %(password_hash)s,
        %(api_token)s, %(api_token_created)s, %(disabled)s, %(disabled_reason)s,
        %(locked)s, %(locked_reason)s, %(actor)s, %(actor)s, %(now)s, %(now)s)
ON CONFLICT (identifier) DO NOTHING
RETURNING *;

-- name: user_by_email
-- The first user (by identifier) whose e-mail matches, ignoring case.
SELECT identifier FROM users WHERE lower(email) = lower(%(email)s) ORDER BY 1 LIMIT 1;

-- name: user_case_twin
-- Another user whose identifier differs from this one only in case.
SELECT identifier FROM users
WHERE lower(identifier) = lower(%(identifier)s) AND identifier <> %(identifier)s;

-- name: user_credentials
-- What authenticating a user needs: its API token, admin flag, and whether disabled or locked.
SELECT api_token, is_admin, disabled IS NOT NULL, locked IS NOT NULL
FROM users
WHERE identifier = %(identifier)s;

-- name: interface_with_counts
-- One interface with its total and enabled peer counts.
SELECT i.*,
       count(p.identifier) AS total_peers,
       count(p.identifier) FILTER (WHERE p.disabled IS NULL) AS enabled_peers
FROM interfaces i LEFT JOIN peers p ON p.interface_identifier = i.identifier
WHERE i.identifier = %(identifier)s
GROUP BY i.identifier;

-- name: interfaces_with_counts
-- Every interface with its total and enabled peer counts, by identifier.
SELECT i.*,
       count(p.identifier) AS total_peers,
       count(p.identifier) FILTER (WHERE p.disabled IS NULL) AS enabled_peers
FROM interfaces i LEFT JOIN peers p ON p.interface_identifier = i.identifier
GROUP BY i.identifier
ORDER BY i.identifier;

-- name: interface_exists
-- A row when the interface exists.
SELECT 1 FROM interfaces WHERE identifier = %(identifier)s;

-- name: interfaces_in_use
-- The names, listen ports and networks taken, to choose a new interface's.
SELECT identifier, listen_port, addresses FROM interfaces;

-- name: peers_of_interface
-- The peers of an interface, by identifier.
SELECT * FROM peers WHERE interface_identifier = %(identifier)s ORDER BY identifier;

-- name: peers_of_interface_for_update
-- The peers of an interface, by identifier, locked for a change to all of them.
SELECT * FROM peers WHERE interface_identifier = %(identifier)s ORDER BY identifier FOR UPDATE;

-- name: peers_of_user
-- The peers a user owns, by identifier.
SELECT * FROM peers WHERE user_identifier = %(identifier)s ORDER BY identifier;

-- name: peers_of_user_for_update
-- The peers a user owns, by identifier, locked for a change to all of them.
SELECT * FROM peers WHERE user_identifier = %(identifier)s ORDER BY identifier FOR UPDATE;

-- name: peer_addresses_of_interface
-- The addresses the peers of an interface hold, to choose a new peer's.
SELECT addresses FROM peers WHERE interface_identifier = %(identifier)s;

-- name: lock_expired_peers
-- Enabled peers whose expiry has passed, locked; one that another transaction holds is skipped.
SELECT * FROM peers
WHERE disabled IS NULL AND expires_at < %(now)s
ORDER BY identifier
FOR UPDATE SKIP LOCKED;
