-- 008: the periodic jobs one replica runs for the whole cluster (reconcile with wg-portal, the
-- expired-peers check): when each last ran and how it went, for the schedule and for /metrics.
CREATE TABLE periodic_jobs (
    job               text PRIMARY KEY,
    last_started_at   timestamptz,
    last_finished_at  timestamptz,
    last_success_at   timestamptz,
    last_duration_seconds double precision NOT NULL DEFAULT 0,
    last_error        text NOT NULL DEFAULT '',
    runs_ok           bigint NOT NULL DEFAULT 0,
    runs_failed       bigint NOT NULL DEFAULT 0
);

-- Differences reconcile found (and applied) per entity since the install: non-zero means
-- ingest missed something.
CREATE TABLE reconcile_differences (
    entity  text PRIMARY KEY CHECK (entity IN ('user', 'interface', 'peer')),
    found   bigint NOT NULL DEFAULT 0
);
