-- Runtime endpoints (services/endpoints/store.py). Every change bumps the generation and
-- NOTIFYs `webhook_endpoints` in its own transaction, so relays and workers reload at once.

-- name: endpoints_generation
-- The generation of the runtime endpoint set (one row).
SELECT generation FROM webhook_endpoint_generation;

-- name: endpoints_load
-- Every runtime endpoint and the generation they belong to, in one snapshot.
SELECT g.generation, e.name, e.settings, e.sealed, e.public_key, e.header_names
FROM webhook_endpoint_generation g
LEFT JOIN webhook_runtime_endpoints e ON true
ORDER BY e.name;

-- name: endpoints_get
-- One runtime endpoint, locked for a change.
SELECT name, settings, sealed
FROM webhook_runtime_endpoints WHERE name = %(name)s
FOR UPDATE;

-- name: endpoints_insert
-- A new runtime endpoint (a name taken is a unique violation the caller reports).
INSERT INTO webhook_runtime_endpoints
    (name, public_url, events, entities, settings, header_names, public_key, sealed)
VALUES (%(name)s, %(public_url)s, %(events)s, %(entities)s, %(settings)s, %(header_names)s,
        %(public_key)s, %(sealed)s);

-- name: endpoints_update
-- Replace a runtime endpoint's settings and sealed secrets.
UPDATE webhook_runtime_endpoints
SET public_url = %(public_url)s, events = %(events)s, entities = %(entities)s,
    settings = %(settings)s, header_names = %(header_names)s, public_key = %(public_key)s,
    sealed = %(sealed)s, updated_at = now()
WHERE name = %(name)s;

-- name: endpoints_delete
-- Remove a runtime endpoint; its deliveries stay (they wait, by name, for it to come back).
DELETE FROM webhook_runtime_endpoints WHERE name = %(name)s RETURNING name;

-- name: endpoints_changed
-- Bump the generation and wake every relay (NOTIFY is sent at commit).
UPDATE webhook_endpoint_generation
SET generation = generation + 1
RETURNING generation, pg_notify('webhook_endpoints', %(name)s);
