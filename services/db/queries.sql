-- name: record_event
-- Lock the ordering key (ids follow commit order per key), insert the event, fan out to the
-- given config endpoints and to every runtime endpoint that wants it, wake relays.
WITH key_lock AS (
    SELECT pg_advisory_xact_lock(hashtextextended(%(ordering_key)s, 0))
), new_event AS (
    INSERT INTO webhook_events (event, entity, identifier, body, trace_context)
    SELECT %(event)s, %(entity)s, %(identifier)s, %(body)s, %(trace_context)s FROM key_lock
    RETURNING id
), targets AS (
    SELECT unnest(%(endpoints)s::text[]) AS target
    UNION
    SELECT name FROM webhook_runtime_endpoints
    WHERE (events = '{}' OR %(event)s = ANY(events))
      AND (entities = '{}' OR %(entity)s = ANY(entities))
), fan_out AS (
    INSERT INTO webhook_deliveries (event_id, endpoint, ordering_key)
    SELECT new_event.id, target, %(ordering_key)s
    FROM new_event, targets
    RETURNING id
)
SELECT new_event.id,
       (SELECT count(*) FROM fan_out) AS deliveries,
       pg_notify('webhook_outbox', '')
FROM new_event;

-- name: claim_lock_endpoints
-- Of the given enabled endpoints, the ones no other relay is claiming for right now (txn lock).
SELECT e.name
FROM unnest(%(endpoints)s::text[]) AS e(name)
WHERE NOT EXISTS (
        SELECT 1 FROM webhook_endpoints w WHERE w.name = e.name AND w.disabled_at IS NOT NULL)
  AND pg_try_advisory_xact_lock(hashtextextended('wg-webhooks claim:' || e.name, 0));

-- name: claim_lock_endpoint_wait
-- A running task's turn to lease for its endpoint: waits for the endpoint's claim lock (the
-- relay only tries it), before claim_more in the same transaction, whose commit then waits for
-- no WAL flush (a lease lost in a crash only comes back sooner), so the lock is held for the
-- server's time only.
SELECT set_config('synchronous_commit', 'off', true),
       pg_advisory_xact_lock(hashtextextended('wg-webhooks claim:' || %(endpoint)s, 0));

-- name: claim_due
-- Lease due deliveries: per endpoint up to its free in-flight room, only the oldest open one
-- per ordering key, skipping rows another relay holds. One lease token per endpoint batch.
-- An endpoint's min_age leaves what is due more recently to a task waiting for it (handoff).
WITH in_flight AS (
    SELECT e.name, e.cap, e.batch, e.lease_seconds, e.min_age, l.rows, l.tasks
    FROM unnest(%(endpoints)s::text[], %(caps)s::int[], %(batches)s::int[],
                %(lease_seconds)s::float8[], %(min_ages)s::float8[])
         AS e(name, cap, batch, lease_seconds, min_age)
    CROSS JOIN LATERAL (
        SELECT count(*) AS rows, count(DISTINCT lease_token) AS tasks
        FROM webhook_deliveries l WHERE l.endpoint = e.name AND l.status = 'leased'
    ) AS l
), room AS (
    -- a slow endpoint may hold at most %(max_tasks)s tasks, so it cannot occupy every worker
    SELECT name, lease_seconds, min_age, gen_random_uuid() AS token,
           CASE WHEN tasks >= %(max_tasks)s THEN 0 ELSE least(batch, cap - rows) END AS free
    FROM in_flight
), picked AS (
    SELECT d.id, room.token, room.lease_seconds
    FROM room
    CROSS JOIN LATERAL (
        SELECT d.id
        FROM webhook_deliveries_ready d
        WHERE d.endpoint = room.name
          AND d.next_attempt_at <= clock_timestamp() - make_interval(secs => room.min_age)
        ORDER BY d.next_attempt_at, d.id
        LIMIT greatest(room.free, 0)
        FOR UPDATE SKIP LOCKED
    ) AS d
    WHERE room.free > 0
)
UPDATE webhook_deliveries AS d
SET status = 'leased',
    lease_token = picked.token,
    lease_expires_at = clock_timestamp() + make_interval(secs => picked.lease_seconds),
    lease_started = false,
    updated_at = clock_timestamp()
FROM picked
WHERE d.id = picked.id
  -- the planner cannot see how few rows `picked` holds (its LIMIT is computed): without this
  -- it joins by hashing a sequential scan of the whole table, 200 ms per claim at 1M rows
  AND d.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING d.id, d.endpoint, d.lease_token;

-- name: release_leases
-- Give leased rows back (their Celery message could not be sent): due again now.
UPDATE webhook_deliveries
SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
WHERE lease_token = %(token)s AND status = 'leased';

-- name: release_rows
-- A worker gives back rows it will not send (their endpoint was removed): pending, unsent.
UPDATE webhook_deliveries
SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, lease_started = false,
    updated_at = clock_timestamp()
WHERE id = ANY(%(ids)s::bigint[]) AND lease_token = %(token)s AND status = 'leased';

-- name: release_queued
-- The queue was lost (Redis restarted empty or flushed): leases no worker has started had their
-- message in it; pending again, due now. A started lease stays with its (heartbeating) task.
UPDATE webhook_deliveries
SET status = 'pending', lease_token = NULL, lease_expires_at = NULL,
    last_error = 'lease given back: its message was lost with the queue',
    updated_at = clock_timestamp()
WHERE status = 'leased' AND NOT lease_started
RETURNING id;

-- name: reclaim_expired
-- Leases whose worker died or whose message was lost: pending again, due now.
UPDATE webhook_deliveries AS d
SET status = 'pending', lease_token = NULL, lease_expires_at = NULL,
    last_error = 'lease expired: the worker or its message was lost',
    updated_at = clock_timestamp()
FROM (SELECT id FROM webhook_deliveries
      WHERE status = 'leased' AND lease_expires_at < clock_timestamp()
      ORDER BY lease_expires_at
      LIMIT 1000
      FOR UPDATE SKIP LOCKED) AS expired
WHERE d.id = expired.id
RETURNING d.id;

-- name: next_due
-- The earliest next_attempt_at of a pending delivery of these endpoints (index lookups).
SELECT min(first.next_attempt_at)
FROM unnest(%(endpoints)s::text[]) AS e(name)
CROSS JOIN LATERAL (
    SELECT next_attempt_at FROM webhook_deliveries
    WHERE endpoint = e.name AND status = 'pending'
    ORDER BY next_attempt_at LIMIT 1
) AS first;

-- name: start_lease
-- A worker starts a task: take the lease over under a token of its own (so a duplicate of the
-- same message finds nothing), re-arm it from now (the heartbeat renews it while the task
-- works), and read what to send. Stale = no rows.
WITH started AS (
    UPDATE webhook_deliveries
    SET lease_token = %(run_token)s,
        lease_expires_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s),
        lease_started = true,
        updated_at = clock_timestamp()
    WHERE id = ANY(%(ids)s::bigint[]) AND lease_token = %(lease_token)s AND status = 'leased'
    RETURNING id, event_id, endpoint, attempts
)
SELECT s.id, e.webhook_id, s.endpoint, s.attempts, e.body, e.created_at, e.trace_context
FROM started s JOIN webhook_events e ON e.id = s.event_id
ORDER BY s.id;

-- name: claim_more
-- A running task leases its endpoint's next due deliveries itself (the relay's rules: the
-- in-flight cap, at most %(max_tasks)s tasks, the oldest open delivery per ordering key, rows
-- another claimer holds skipped), started under its own token at once, and reads what to send.
-- The caller holds the endpoint's claim lock (claim_lock_endpoint_wait) in the transaction.
-- Nothing for a disabled endpoint, nor when the runtime endpoints changed since the caller's
-- snapshot (%(generation)s): it reloads them and asks again, so nothing leased here is POSTed
-- to a URL its endpoint no longer has.
-- Always one row at least, and each row starts with two columns about the claim:
-- `generation`, the runtime endpoints' generation it saw, and `room_soon`: the in-flight cap
-- (other tasks' rows, answered ones among them until their results are written) held the claim
-- below %(want)s while the other tasks, %(window)s POSTs each at most, cannot fill the cap by
-- themselves, so room comes back to this task within a group commit. The leased rows' columns
-- follow (NULLs in the one row when nothing was leased).
WITH in_flight AS (
    -- the rows this task has answers for are no longer POSTs in flight, recorded or not yet
    SELECT count(*) FILTER (WHERE id <> ALL(%(answered)s::bigint[])) AS rows,
           count(DISTINCT lease_token) FILTER (WHERE lease_token <> %(run_token)s::uuid) AS tasks
    FROM webhook_deliveries WHERE endpoint = %(endpoint)s AND status = 'leased'
), generation AS (
    SELECT coalesce((SELECT generation FROM webhook_endpoint_generation), 0) AS current
), room AS (
    SELECT CASE WHEN tasks >= %(max_tasks)s
                  OR EXISTS (SELECT 1 FROM webhook_endpoints w
                             WHERE w.name = %(endpoint)s AND w.disabled_at IS NOT NULL)
                  OR current <> %(generation)s THEN 0
                ELSE greatest(least(%(want)s, %(cap)s - rows), 0) END AS free,
           current AS generation,
           tasks < %(max_tasks)s AND %(cap)s - rows < %(want)s
               AND tasks * %(window)s < %(cap)s AS room_soon
    FROM in_flight, generation
), picked AS (
    SELECT d.id
    FROM webhook_deliveries_ready d
    WHERE d.endpoint = %(endpoint)s AND d.next_attempt_at <= clock_timestamp()
    ORDER BY d.next_attempt_at, d.id
    LIMIT (SELECT free FROM room)
    FOR UPDATE SKIP LOCKED
), started AS (
    UPDATE webhook_deliveries AS d
    SET status = 'leased',
        lease_token = %(run_token)s,
        lease_expires_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s),
        lease_started = true,
        updated_at = clock_timestamp()
    WHERE d.id = ANY (ARRAY(SELECT id FROM picked))
    RETURNING d.id, d.event_id, d.endpoint, d.attempts
)
SELECT r.generation, r.room_soon, s.id, e.webhook_id, s.endpoint, s.attempts, e.body, e.created_at,
       e.trace_context
FROM room r
LEFT JOIN (started s JOIN webhook_events e ON e.id = s.event_id) ON true
ORDER BY s.id;

-- name: renew_leases
-- A worker's heartbeat: the leases of its working tasks run on from now (rows still theirs).
UPDATE webhook_deliveries
SET lease_expires_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s)
WHERE id = ANY(%(ids)s::bigint[]) AND lease_token = ANY(%(tokens)s::uuid[])
  AND status = 'leased';

-- name: record_results
-- Record attempts of one or more tasks (a worker's recorder: group commit) in one statement;
-- a row changes state only while it is still under the lease of the task that sent it.
-- The ids of the rows recorded.
WITH r AS (
    SELECT *
    FROM unnest(%(ids)s::bigint[], %(tokens)s::uuid[], %(wakes)s::boolean[],
                %(outcomes)s::text[], %(delays)s::float8[], %(codes)s::int[],
                %(errors)s::text[], %(bodies)s::text[], %(attempted)s::timestamptz[],
                %(durations)s::float8[])
         AS r(id, token, wake, outcome, delay, code, error, body, attempted_at, duration_ms)
), updated AS (
    UPDATE webhook_deliveries AS d
    SET status = CASE r.outcome WHEN 'retry' THEN 'pending' ELSE r.outcome END,
        attempts = d.attempts + 1,
        next_attempt_at = CASE WHEN r.outcome = 'retry'
                               THEN clock_timestamp() + make_interval(secs => r.delay)
                               ELSE d.next_attempt_at END,
        lease_token = NULL,
        lease_expires_at = NULL,
        last_status_code = r.code,
        last_error = r.error,
        delivered_at = CASE WHEN r.outcome = 'delivered' THEN clock_timestamp()
                            ELSE d.delivered_at END,
        updated_at = clock_timestamp()
    FROM r
    WHERE d.id = r.id AND d.lease_token = r.token AND d.status = 'leased'
    RETURNING d.id, d.endpoint, r.wake
), logged AS (
    INSERT INTO webhook_attempts
        (delivery_id, attempted_at, duration_ms, status_code, error, response_body, outcome)
    SELECT r.id, r.attempted_at, r.duration_ms, r.code, r.error, r.body, r.outcome
    FROM r WHERE EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.id = r.id)
)
-- Capacity was freed and keys unblocked: wake the relays (NOTIFY is sent at commit) if a
-- delivery of these endpoints is due and waiting (for room, or for an earlier event of its
-- key), or a retry was scheduled. Otherwise the relays sleep on: a new event wakes them itself.
-- A task that goes on leasing for its endpoint (its rows' wake false) takes that room itself.
SELECT ARRAY(SELECT id FROM updated),
       CASE WHEN EXISTS (SELECT 1 FROM r WHERE r.outcome = 'retry')
              -- the scan only when a row asks for it (a running task's rows do not): planned
              -- as a semi join, it read the whole table on every call
              OR coalesce((SELECT bool_or(wake) FROM updated), false)
                 AND EXISTS (SELECT 1 FROM webhook_deliveries p
                             WHERE p.endpoint = ANY (ARRAY(SELECT endpoint FROM updated WHERE wake))
                               AND p.status = 'pending' AND p.next_attempt_at <= clock_timestamp())
            THEN pg_notify('webhook_outbox', '') END;
