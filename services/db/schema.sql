-- The declared schema: what replaying every migration must produce (tests/test_migrations.py).

CREATE TABLE users (
    identifier      text PRIMARY KEY,
    email           text NOT NULL DEFAULT '',
    auth_sources    jsonb NOT NULL DEFAULT '[]',
    is_admin        boolean NOT NULL DEFAULT false,
    firstname       text NOT NULL DEFAULT '',
    lastname        text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    department      text NOT NULL DEFAULT '',
    notes           text NOT NULL DEFAULT '',
    password_hash   text NOT NULL DEFAULT '',
    api_token       text NOT NULL DEFAULT '',
    api_token_created timestamptz,
    disabled        timestamptz,
    disabled_reason text NOT NULL DEFAULT '',
    locked          timestamptz,
    locked_reason   text NOT NULL DEFAULT '',
    created_by      text NOT NULL DEFAULT '',
    updated_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per event, insert-only; body is the serialized envelope, sent byte-identical every time.
CREATE TABLE webhook_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event       text NOT NULL,
    entity      text NOT NULL,
    identifier  text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_events_created_at ON webhook_events (created_at);

-- One row per (event, endpoint): the delivery state machine. Postgres owns every state change.
CREATE TABLE webhook_deliveries (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint          text NOT NULL,
    ordering_key      text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'leased', 'delivered', 'dead')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_token       uuid,
    lease_expires_at  timestamptz,
    last_status_code  integer,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (event_id, endpoint),
    CHECK ((status = 'leased') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) WITH (
    -- the table churns (every delivery is updated 2-3 times): vacuum early and often
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0,
    fillfactor = 80
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease_expiry ON webhook_deliveries (lease_expires_at)
    WHERE status = 'leased';
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (endpoint)
    WHERE status = 'leased';
CREATE INDEX webhook_deliveries_key_order ON webhook_deliveries (endpoint, ordering_key, id)
    WHERE status IN ('pending', 'leased');
-- at most one delivery per (endpoint, key) is in flight, even when several relays claim at once
CREATE UNIQUE INDEX webhook_deliveries_one_leased_per_key ON webhook_deliveries (endpoint, ordering_key)
    WHERE status = 'leased';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (endpoint, updated_at)
    WHERE status = 'dead';
CREATE INDEX webhook_deliveries_delivered_at ON webhook_deliveries (delivered_at)
    WHERE status = 'delivered';

-- Append-only log of every attempt.
CREATE TABLE webhook_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    duration_ms   double precision NOT NULL,
    status_code   integer,
    error         text,
    response_body text NOT NULL DEFAULT '',
    outcome       text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Health of each configured endpoint (the URL and secrets live in the config, never here).
CREATE TABLE webhook_endpoints (
    name              text PRIMARY KEY,
    disabled_at       timestamptz,
    disabled_reason   text NOT NULL DEFAULT '',
    failing_since     timestamptz,
    last_success_at   timestamptz,
    last_failure_at   timestamptz
);
