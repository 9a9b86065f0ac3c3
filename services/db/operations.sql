-- What operators run: inspect and re-drive deliveries, endpoint health, metrics, retention.
-- Loaded with queries.sql by services/db/queries.py; names are unique across both files.

-- name: list_deliveries
-- Deliveries newest first; a filter applies only when given; `since` = last state change within;
-- `before` = only ids below it (keyset paging: page 1,000 costs what page 1 does, no OFFSET).
SELECT d.id, d.event_id, e.webhook_id, d.endpoint, e.event, e.entity, e.identifier, d.status,
       d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at,
       d.delivered_at, d.updated_at
FROM webhook_deliveries d
JOIN webhook_events e ON e.id = d.event_id
WHERE (%(status)s::text IS NULL OR d.status = %(status)s::text)
  AND (%(endpoint)s::text IS NULL OR d.endpoint = %(endpoint)s::text)
  AND (%(event)s::text IS NULL OR e.event = %(event)s::text)
  AND (%(entity)s::text IS NULL OR e.entity = %(entity)s::text)
  AND (%(identifier)s::text IS NULL OR e.identifier = %(identifier)s::text)
  AND (%(since)s::float8 IS NULL
       OR d.updated_at >= clock_timestamp() - make_interval(secs => %(since)s::float8))
  AND (%(before)s::bigint IS NULL OR d.id < %(before)s::bigint)
ORDER BY d.id DESC
LIMIT %(limit)s;

-- name: get_delivery
-- One delivery with its event's names.
SELECT d.id, d.event_id, e.webhook_id, d.endpoint, e.event, e.entity, e.identifier, d.status,
       d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at,
       d.delivered_at, d.updated_at
FROM webhook_deliveries d
JOIN webhook_events e ON e.id = d.event_id
WHERE d.id = %(id)s;

-- name: delivery_attempts
-- Every recorded attempt of one delivery, oldest first.
SELECT id, attempted_at, duration_ms, status_code, error, response_body, outcome
FROM webhook_attempts
WHERE delivery_id = %(id)s
ORDER BY id;

-- name: redeliver
-- Back to pending, due now, lease dropped, retry schedule restarted; the event (webhook-id) stays.
WITH target AS (
    SELECT id, status FROM webhook_deliveries
    WHERE id = ANY(%(ids)s::bigint[])
    ORDER BY id
    FOR UPDATE
), changed AS (
    UPDATE webhook_deliveries AS d
    SET status = 'pending',
        next_attempt_at = clock_timestamp(),
        lease_token = NULL,
        lease_expires_at = NULL,
        attempts = 0,
        delivered_at = NULL,
        updated_at = clock_timestamp()
    FROM target
    WHERE d.id = target.id
    RETURNING d.id
)
SELECT target.id, target.status AS previous, pg_notify('webhook_outbox', '')
FROM target JOIN changed ON changed.id = target.id
ORDER BY target.id;

-- name: recover_window
-- Fix a recover's window on the database clock, and count what falls in it (for progress).
WITH bounds AS (
    SELECT clock_timestamp() AS until,
           clock_timestamp() - make_interval(secs => %(since)s::float8) AS since
)
SELECT bounds.since, bounds.until,
       (SELECT count(*) FROM webhook_deliveries
        WHERE status = %(status)s::text
          AND updated_at >= bounds.since AND updated_at <= bounds.until
          AND (%(endpoint)s::text IS NULL OR endpoint = %(endpoint)s::text))
FROM bounds;

-- name: recover_batch
-- Re-drive the next batch of the window in id order; rows are rechecked under their row lock.
WITH picked AS (
    SELECT id FROM webhook_deliveries
    WHERE status = %(status)s::text
      AND updated_at >= %(since)s AND updated_at <= %(until)s
      AND (%(endpoint)s::text IS NULL OR endpoint = %(endpoint)s::text)
      AND id > %(after)s
    ORDER BY id
    LIMIT %(batch)s
), changed AS (
    UPDATE webhook_deliveries AS d
    SET status = 'pending',
        next_attempt_at = clock_timestamp(),
        lease_token = NULL,
        lease_expires_at = NULL,
        attempts = 0,
        delivered_at = NULL,
        updated_at = clock_timestamp()
    FROM picked
    WHERE d.id = picked.id
      AND d.status = %(status)s::text
      AND d.updated_at >= %(since)s AND d.updated_at <= %(until)s
    RETURNING d.id
)
SELECT (SELECT count(*) FROM changed),
       (SELECT max(id) FROM picked),
       pg_notify('webhook_outbox', '');

-- name: endpoint_outcomes
-- Fold one batch's outcomes into each endpoint's health; disable one failing for too long.
-- Returns the endpoints this call disabled.
WITH before AS (
    SELECT name, disabled_at FROM webhook_endpoints WHERE name = ANY(%(names)s::text[])
), upserted AS (
    INSERT INTO webhook_endpoints AS w (name, failing_since, last_success_at, last_failure_at)
    SELECT b.name,
           CASE WHEN b.ok > 0 THEN NULL ELSE t.now END,
           CASE WHEN b.ok > 0 THEN t.now END,
           CASE WHEN b.failed > 0 THEN t.now END
    FROM unnest(%(names)s::text[], %(ok)s::int[], %(failed)s::int[]) AS b(name, ok, failed)
    CROSS JOIN (SELECT clock_timestamp() AS now) AS t
    ORDER BY b.name
    ON CONFLICT (name) DO UPDATE SET
        last_success_at = coalesce(excluded.last_success_at, w.last_success_at),
        last_failure_at = coalesce(excluded.last_failure_at, w.last_failure_at),
        -- excluded.failing_since is "now" when this batch had no success, NULL when it had one
        failing_since = CASE WHEN excluded.last_success_at IS NOT NULL THEN NULL
                             ELSE coalesce(w.failing_since, excluded.failing_since) END,
        disabled_at = CASE
            WHEN w.disabled_at IS NULL
                 AND excluded.last_success_at IS NULL
                 AND %(disable_after)s::float8 > 0
                 AND w.failing_since
                     <= excluded.failing_since - make_interval(secs => %(disable_after)s::float8)
            THEN excluded.failing_since
            ELSE w.disabled_at END,
        disabled_reason = CASE
            WHEN w.disabled_at IS NULL
                 AND excluded.last_success_at IS NULL
                 AND %(disable_after)s::float8 > 0
                 AND w.failing_since
                     <= excluded.failing_since - make_interval(secs => %(disable_after)s::float8)
            THEN %(reason)s::text
            ELSE w.disabled_reason END
    RETURNING w.name, w.disabled_at
)
SELECT upserted.name
FROM upserted LEFT JOIN before ON before.name = upserted.name
WHERE upserted.disabled_at IS NOT NULL AND before.disabled_at IS NULL
ORDER BY upserted.name;

-- name: endpoint_health
-- The recorded health of every endpoint that has one.
SELECT name, disabled_at, disabled_reason, failing_since, last_success_at, last_failure_at
FROM webhook_endpoints
ORDER BY name;

-- name: endpoint_backlog
-- Pending, in-flight and dead deliveries per endpoint (each from its partial index).
SELECT endpoint, 'pending' AS status, count(*) FROM webhook_deliveries
WHERE status = 'pending' GROUP BY endpoint
UNION ALL
SELECT endpoint, 'leased', count(*) FROM webhook_deliveries
WHERE status = 'leased' GROUP BY endpoint
UNION ALL
SELECT endpoint, 'dead', count(*) FROM webhook_deliveries
WHERE status = 'dead' GROUP BY endpoint;

-- name: enable_endpoint
-- Lift a disable (and forget the failing streak); wake the relays. No row = never disabled.
WITH old AS (
    SELECT name, disabled_at FROM webhook_endpoints WHERE name = %(name)s FOR UPDATE
), changed AS (
    UPDATE webhook_endpoints AS w
    SET disabled_at = NULL, disabled_reason = '', failing_since = NULL
    FROM old
    WHERE w.name = old.name
    RETURNING w.name
)
SELECT old.disabled_at, pg_notify('webhook_outbox', '')
FROM old JOIN changed ON changed.name = old.name;

-- name: metrics_backlog
-- Per endpoint: pending, in flight, dead; age of the oldest undelivered; the most overdue due time.
WITH undelivered AS (
    SELECT endpoint, status, created_at, next_attempt_at
    FROM webhook_deliveries WHERE status = 'pending'
    UNION ALL
    SELECT endpoint, status, created_at, NULL
    FROM webhook_deliveries WHERE status = 'leased'
), live AS (
    SELECT endpoint,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE status = 'leased') AS in_flight,
           min(created_at) AS oldest,
           min(next_attempt_at) AS first_due
    FROM undelivered GROUP BY endpoint
), dead AS (
    SELECT endpoint, count(*) AS dead
    FROM webhook_deliveries WHERE status = 'dead' GROUP BY endpoint
), t AS (
    SELECT clock_timestamp() AS now
)
SELECT coalesce(live.endpoint, dead.endpoint),
       coalesce(live.pending, 0),
       coalesce(live.in_flight, 0),
       coalesce(dead.dead, 0),
       coalesce(extract(epoch FROM t.now - live.oldest)::float8, 0),
       greatest(coalesce(extract(epoch FROM t.now - live.first_due)::float8, 0), 0)
FROM live FULL JOIN dead ON dead.endpoint = live.endpoint CROSS JOIN t;

-- name: metrics_attempts_position
-- The attempts id sequence's position: every id at or below it has been handed out.
SELECT coalesce(
    pg_sequence_last_value(pg_get_serial_sequence('webhook_attempts', 'id')::regclass), 0);

-- name: metrics_attempts
-- Attempts with lo < id <= hi by endpoint, outcome and status class.
SELECT d.endpoint,
       a.outcome,
       CASE WHEN a.status_code IS NULL THEN 'error'
            ELSE (a.status_code / 100)::text || 'xx' END AS status_class,
       count(*)
FROM webhook_attempts a
JOIN webhook_deliveries d ON d.id = a.delivery_id
WHERE a.id > %(lo)s AND a.id <= %(hi)s
GROUP BY 1, 2, 3;

-- name: metrics_latency
-- Commit-to-2xx seconds of delivering attempts in lo < id <= hi: per endpoint, how many
-- bucket bounds each is above (0 = within the first bucket), count and sum.
SELECT endpoint,
       %(bucket_count)s::int - width_bucket(-latency, %(negated_bounds)s::float8[]) AS above,
       count(*),
       sum(latency)
FROM (
    SELECT d.endpoint,
           extract(epoch FROM a.attempted_at - e.created_at)::float8
               + a.duration_ms / 1000.0 AS latency
    FROM webhook_attempts a
    JOIN webhook_deliveries d ON d.id = a.delivery_id
    JOIN webhook_events e ON e.id = d.event_id
    WHERE a.outcome = 'delivered'
      AND a.id > %(lo)s AND a.id <= %(hi)s
) AS delivered
GROUP BY 1, 2;

-- name: metrics_batches
-- Claim batch sizes in lo < id <= hi: a task records its whole batch in one transaction, so
-- the attempts that share an inserting transaction (xmin) are one claim.
SELECT endpoint, size, count(*)
FROM (
    SELECT d.endpoint, count(*) AS size
    FROM webhook_attempts a
    JOIN webhook_deliveries d ON d.id = a.delivery_id
    WHERE a.id > %(lo)s AND a.id <= %(hi)s
    GROUP BY d.endpoint, a.xmin::text
) AS batches
GROUP BY 1, 2;

-- name: endpoint_disabled_flags
-- Which endpoints are disabled now.
SELECT name, disabled_at IS NOT NULL FROM webhook_endpoints;

-- name: retention_try_lock
-- One cleanup at a time across every replica (session lock; released when done).
SELECT pg_try_advisory_lock(hashtextextended('wg-webhooks:retention', 0));

-- name: retention_unlock
-- Release the cleanup lock.
SELECT pg_advisory_unlock(hashtextextended('wg-webhooks:retention', 0));

-- name: retention_cutoff
-- The cutoff on the database clock.
SELECT clock_timestamp() - make_interval(secs => %(retention)s::float8);

-- name: purge_delivered
-- A batch of deliveries delivered before the cutoff, with their attempts; locked rows skipped.
WITH doomed AS (
    SELECT id FROM webhook_deliveries
    WHERE status = 'delivered' AND delivered_at < %(cutoff)s
    ORDER BY delivered_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM webhook_attempts a USING doomed WHERE a.delivery_id = doomed.id RETURNING 1
), deliveries AS (
    DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1
)
SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM attempts);

-- name: purge_dead
-- A batch of dead deliveries that died before the cutoff (never re-driven), with their attempts.
WITH doomed AS (
    SELECT id FROM webhook_deliveries
    WHERE status = 'dead' AND updated_at < %(cutoff)s
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM webhook_attempts a USING doomed WHERE a.delivery_id = doomed.id RETURNING 1
), deliveries AS (
    DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1
)
SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM attempts);

-- name: purge_events
-- A batch of events older than the cutoff with no delivery left (never one still to deliver).
WITH doomed AS (
    SELECT e.id FROM webhook_events e
    WHERE e.created_at < %(cutoff)s
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
    ORDER BY e.created_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), deleted AS (
    DELETE FROM webhook_events e USING doomed
    WHERE e.id = doomed.id
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: purge_old_attempts
-- A batch of attempts older than the cutoff of deliveries that are kept (pending, leased, dead).
WITH kept AS (
    SELECT id FROM webhook_deliveries
    WHERE status IN ('pending', 'leased') AND created_at < %(cutoff)s
    UNION ALL
    SELECT id FROM webhook_deliveries
    WHERE status = 'dead' AND created_at < %(cutoff)s
), doomed AS (
    SELECT a.id FROM kept JOIN webhook_attempts a ON a.delivery_id = kept.id
    WHERE a.attempted_at < %(cutoff)s
    LIMIT %(batch)s
), deleted AS (
    DELETE FROM webhook_attempts a USING doomed WHERE a.id = doomed.id RETURNING 1
)
SELECT count(*) FROM deleted;
