-- name: job_try_lock
-- One replica at a time per job: a session-level advisory lock, given back after the run.
SELECT pg_try_advisory_lock(hashtextextended('wg-webhooks:job:' || %(job)s, 0));

-- name: job_unlock
-- Give back the job's advisory lock.
SELECT pg_advisory_unlock(hashtextextended('wg-webhooks:job:' || %(job)s, 0));

-- name: job_is_due
-- Whether no replica started the job within the last `interval` seconds.
SELECT coalesce(
    (SELECT last_started_at <= now() - make_interval(secs => %(interval)s)
     FROM periodic_jobs WHERE job = %(job)s),
    true);

-- name: job_start
-- Note the start (the schedule of every replica counts from here).
INSERT INTO periodic_jobs (job, last_started_at) VALUES (%(job)s, now())
ON CONFLICT (job) DO UPDATE SET last_started_at = now();

-- name: job_finish
-- Note how the run went: duration, success time or error, and the counts.
UPDATE periodic_jobs SET
    last_finished_at = now(),
    last_duration_seconds = %(seconds)s,
    last_success_at = CASE WHEN %(ok)s THEN now() ELSE last_success_at END,
    last_error = %(error)s,
    runs_ok = runs_ok + CASE WHEN %(ok)s THEN 1 ELSE 0 END,
    runs_failed = runs_failed + CASE WHEN %(ok)s THEN 0 ELSE 1 END
WHERE job = %(job)s;

-- name: reconcile_add_differences
-- Add a round's differences of one entity to the running total.
INSERT INTO reconcile_differences (entity, found) VALUES (%(entity)s, %(found)s)
ON CONFLICT (entity) DO UPDATE SET found = reconcile_differences.found + excluded.found;

-- name: metrics_jobs
-- Each periodic job's last success (Unix seconds, NULL = never), last duration and run counts.
SELECT job, extract(epoch FROM last_success_at)::float8, last_duration_seconds, runs_ok, runs_failed
FROM periodic_jobs ORDER BY job;

-- name: metrics_reconcile_differences
-- The differences reconcile found per entity since the install.
SELECT entity, found FROM reconcile_differences ORDER BY entity;
