-- What the web console reads and writes beyond operations.sql: its sessions, the overview's
-- extra figures and chart, the deliveries table with keyset paging. Loaded by queries.py.

-- name: console_session_create
-- A new session: the SHA-256 of the cookie's token, who signed in, the CSRF token, its end.
INSERT INTO console_sessions (token_hash, identifier, csrf_token, expires_at)
VALUES (%(token_hash)s, %(identifier)s, %(csrf_token)s,
        clock_timestamp() + make_interval(secs => %(lifetime)s::float8));

-- name: console_session_get
-- The live session for a token hash (expired ones are as good as gone).
SELECT identifier, csrf_token FROM console_sessions
WHERE token_hash = %(token_hash)s AND expires_at > clock_timestamp();

-- name: console_session_delete
-- Sign-out: the session ends at once.
DELETE FROM console_sessions WHERE token_hash = %(token_hash)s;

-- name: console_session_purge
-- Forget expired sessions (run at each sign-in; the table stays as small as the live sessions).
DELETE FROM console_sessions WHERE expires_at <= clock_timestamp();

-- name: console_user_rights
-- Is a database user still an admin that may sign in (not disabled, not locked)?
SELECT is_admin AND disabled IS NULL AND locked IS NULL FROM users WHERE identifier = %(identifier)s;

-- name: console_delivered_last_hour
-- Deliveries that reached their receiver within the last hour, per endpoint (partial index:
-- now(), not clock_timestamp(), so the planner can use it).
SELECT endpoint, count(*) FROM webhook_deliveries
WHERE status = 'delivered' AND delivered_at >= now() - interval '1 hour'
GROUP BY endpoint;

-- name: console_attempts_per_minute
-- Attempts of the last `minutes` minutes by minute (0 = the oldest): delivered, and failed.
WITH t AS (
    SELECT date_trunc('minute', clock_timestamp())
           - make_interval(mins => %(minutes)s::int - 1) AS start
)
SELECT floor(extract(epoch FROM a.attempted_at - t.start) / 60)::int AS minute,
       count(*) FILTER (WHERE a.outcome = 'delivered'),
       count(*) FILTER (WHERE a.outcome <> 'delivered')
FROM webhook_attempts a CROSS JOIN t
WHERE a.attempted_at >= t.start
GROUP BY 1
ORDER BY 1;

-- name: console_deliveries_count
-- How many deliveries list_deliveries' filter matches (what a bulk re-drive would touch).
SELECT count(*)
FROM webhook_deliveries d
JOIN webhook_events e ON e.id = d.event_id
WHERE (%(status)s::text IS NULL OR d.status = %(status)s::text)
  AND (%(endpoint)s::text IS NULL OR d.endpoint = %(endpoint)s::text)
  AND (%(event)s::text IS NULL OR e.event = %(event)s::text)
  AND (%(entity)s::text IS NULL OR e.entity = %(entity)s::text)
  AND (%(identifier)s::text IS NULL OR e.identifier = %(identifier)s::text)
  AND (%(since)s::float8 IS NULL
       OR d.updated_at >= clock_timestamp() - make_interval(secs => %(since)s::float8));

-- name: console_event_body
-- The envelope of one delivery's event, as it is sent.
SELECT e.body FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
WHERE d.id = %(id)s;

-- name: disable_endpoint
-- An operator disables an endpoint: the relays stop claiming for it; its deliveries wait.
-- No row = it was disabled already.
INSERT INTO webhook_endpoints AS w (name, disabled_at, disabled_reason)
VALUES (%(name)s, clock_timestamp(), %(reason)s)
ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at,
                                 disabled_reason = excluded.disabled_reason
    WHERE w.disabled_at IS NULL
RETURNING w.name;
