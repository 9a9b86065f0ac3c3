-- The declared schema: what replaying every migration must produce (tests/test_migrations.py),
-- run inside our own schema (database.schema), the only one on our sessions' search_path.

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
-- `evt_` + a UUIDv7: the webhook-id header, unique across installs and database re-creations.
-- Postgres 15 has no uuidv7(): one made from gen_random_uuid(), time first, version nibble 7.
CREATE FUNCTION new_webhook_id() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN 'evt_' || encode(
    set_bit(set_bit(
        overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                  FROM 3)
                FROM 1 FOR 6),
        52, 1), 53, 1),
    'hex')::uuid::text;

CREATE TABLE webhook_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event       text NOT NULL,
    entity      text NOT NULL,
    identifier  text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the webhook-id header; events older than migration 005 keep their number ('1', '2', ...)
    webhook_id  text NOT NULL DEFAULT new_webhook_id(),
    -- the W3C traceparent of the change's span (migration 011); NULL when not traced
    trace_context text
);
CREATE INDEX webhook_events_created_at ON webhook_events (created_at);
-- the console filters deliveries by identifier (a seq scan of every event without it)
CREATE INDEX webhook_events_identifier ON webhook_events (identifier);

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
    -- a worker took the lease over (heartbeat-renewed); false: its message waits in Redis
    lease_started     boolean NOT NULL DEFAULT false,
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
CREATE INDEX webhook_deliveries_key_order ON webhook_deliveries (ordering_key, endpoint, id)
    WHERE status IN ('pending', 'leased');
-- at most one delivery per (endpoint, key) is in flight, even when several relays claim at once
CREATE UNIQUE INDEX webhook_deliveries_one_leased_per_key ON webhook_deliveries (endpoint, ordering_key)
    WHERE status = 'leased';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (endpoint, updated_at)
    WHERE status = 'dead';
CREATE INDEX webhook_deliveries_delivered_at ON webhook_deliveries (delivered_at)
    WHERE status = 'delivered';
-- ready to send: pending, nothing of its key in flight or earlier (migration 013; every claim)
CREATE VIEW webhook_deliveries_ready AS
SELECT d.id, d.endpoint, d.next_attempt_at
FROM webhook_deliveries d
WHERE d.status = 'pending'
  AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries o
        WHERE o.endpoint = d.endpoint
          AND o.ordering_key = d.ordering_key
          AND o.status IN ('pending', 'leased')
          AND (o.status = 'leased' OR o.id < d.id));

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
-- appended in time order: a BRIN index finds a time window (the console's chart) for almost free
CREATE INDEX webhook_attempts_attempted_at ON webhook_attempts USING brin (attempted_at);

-- Health of each configured endpoint (the URL and secrets live in the config, never here).
CREATE TABLE webhook_endpoints (
    name              text PRIMARY KEY,
    disabled_at       timestamptz,
    disabled_reason   text NOT NULL DEFAULT '',
    failing_since     timestamptz,
    last_success_at   timestamptz,
    last_failure_at   timestamptz
);

-- Endpoints added at runtime through the API or the CLI (the config file's stay in the file).
-- Secrets (the URL, authentication, signing secrets and key, header values) are one sealed
-- blob; what the relay and the fan-out need in the clear (name, filters) are columns.
CREATE TABLE webhook_runtime_endpoints (
    name          text PRIMARY KEY,
    public_url    text NOT NULL,                  -- without user info or query
    events        text[] NOT NULL DEFAULT '{}',   -- empty = all
    entities      text[] NOT NULL DEFAULT '{}',   -- empty = all
    settings      jsonb NOT NULL DEFAULT '{}',    -- the non-secret config keys that were set
    header_names  text[] NOT NULL DEFAULT '{}',
    public_key    text NOT NULL DEFAULT '',       -- whpk_... of the signing key, if any
    sealed        bytea NOT NULL,                 -- Fernet token of the secret keys (JSON)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row, bumped by every change in the change's own transaction: a process compares it with
-- the generation it loaded to know, in one index read, whether its endpoint set is current.
CREATE TABLE webhook_endpoint_generation (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation  bigint NOT NULL DEFAULT 0
);
INSERT INTO webhook_endpoint_generation DEFAULT VALUES;

-- Lists (addresses, DNS servers, allowed IPs) are text[] of normalized strings: wg-portal's model
-- keeps them as strings too, and inet would print a /32 host without its prefix. A peer option
-- that wg-portal models as ConfigOption{Value, Overridable} is two columns, value and
-- <value>_overridable.

CREATE TABLE interfaces (
    identifier                    text PRIMARY KEY,          -- the device name, e.g. wg0
    display_name                  text NOT NULL DEFAULT '',
    type                          text NOT NULL CHECK (type IN ('server', 'client', 'any')),
    driver_type                   text NOT NULL DEFAULT '',
    private_key                   text NOT NULL,
    public_key                    text NOT NULL,
    listen_port                   integer NOT NULL DEFAULT 0 CHECK (listen_port BETWEEN 0 AND 65535),
    addresses                     text[] NOT NULL DEFAULT '{}',
    dns                           text[] NOT NULL DEFAULT '{}',
    dns_search                    text[] NOT NULL DEFAULT '{}',
    mtu                           integer NOT NULL DEFAULT 0 CHECK (mtu BETWEEN 0 AND 9000),
    firewall_mark                 bigint NOT NULL DEFAULT 0
                                  CHECK (firewall_mark BETWEEN 0 AND 4294967295),
    routing_table                 text NOT NULL DEFAULT '',
    pre_up                        text NOT NULL DEFAULT '',
    post_up                       text NOT NULL DEFAULT '',
    pre_down                      text NOT NULL DEFAULT '',
    post_down                     text NOT NULL DEFAULT '',
    save_config                   boolean NOT NULL DEFAULT false,
    disabled                      timestamptz,
    disabled_reason               text NOT NULL DEFAULT '',
    peer_def_network              text[] NOT NULL DEFAULT '{}',
    peer_def_dns                  text[] NOT NULL DEFAULT '{}',
    peer_def_dns_search           text[] NOT NULL DEFAULT '{}',
    peer_def_endpoint             text NOT NULL DEFAULT '',
    peer_def_allowed_ips          text[] NOT NULL DEFAULT '{}',
    peer_def_mtu                  integer NOT NULL DEFAULT 0 CHECK (peer_def_mtu BETWEEN 0 AND 9000),
    peer_def_persistent_keepalive integer NOT NULL DEFAULT 0
                                  CHECK (peer_def_persistent_keepalive BETWEEN 0 AND 65535),
    peer_def_firewall_mark        bigint NOT NULL DEFAULT 0
                                  CHECK (peer_def_firewall_mark BETWEEN 0 AND 4294967295),
    peer_def_routing_table        text NOT NULL DEFAULT '',
    peer_def_pre_up               text NOT NULL DEFAULT '',
    peer_def_post_up              text NOT NULL DEFAULT '',
    peer_def_pre_down             text NOT NULL DEFAULT '',
    peer_def_post_down            text NOT NULL DEFAULT '',
    created_by                    text NOT NULL DEFAULT '',
    updated_by                    text NOT NULL DEFAULT '',
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peers (
    identifier                     text PRIMARY KEY,         -- the peer's public key
    -- No foreign key (migration 007): beside wg-portal a peer can arrive before its interface.
    -- Deleting an interface deletes its peers one by one, each with its own webhook event.
    interface_identifier           text NOT NULL,
    user_identifier                text NOT NULL DEFAULT '',  -- '' = no owner
    display_name                   text NOT NULL DEFAULT '',
    disabled                       timestamptz,
    disabled_reason                text NOT NULL DEFAULT '',
    expires_at                     timestamptz,
    notes                          text NOT NULL DEFAULT '',
    automatically_created          boolean NOT NULL DEFAULT false,
    private_key                    text NOT NULL DEFAULT '',
    preshared_key                  text NOT NULL DEFAULT '',
    interface_type                 text NOT NULL DEFAULT 'client'
                                   CHECK (interface_type IN ('server', 'client', 'any')),
    addresses                      text[] NOT NULL DEFAULT '{}',
    check_alive_address            text NOT NULL DEFAULT '',
    extra_allowed_ips              text[] NOT NULL DEFAULT '{}',
    endpoint                       text NOT NULL DEFAULT '',
    endpoint_overridable           boolean NOT NULL DEFAULT false,
    endpoint_public_key            text NOT NULL DEFAULT '',
    endpoint_public_key_overridable boolean NOT NULL DEFAULT false,
    allowed_ips                    text[] NOT NULL DEFAULT '{}',
    allowed_ips_overridable        boolean NOT NULL DEFAULT false,
    persistent_keepalive           integer NOT NULL DEFAULT 0
                                   CHECK (persistent_keepalive BETWEEN 0 AND 65535),
    persistent_keepalive_overridable boolean NOT NULL DEFAULT false,
    dns                            text[] NOT NULL DEFAULT '{}',
    dns_overridable                boolean NOT NULL DEFAULT false,
    dns_search                     text[] NOT NULL DEFAULT '{}',
    dns_search_overridable         boolean NOT NULL DEFAULT false,
    mtu                            integer NOT NULL DEFAULT 0 CHECK (mtu BETWEEN 0 AND 9000),
    mtu_overridable                boolean NOT NULL DEFAULT false,
    firewall_mark                  bigint NOT NULL DEFAULT 0
                                   CHECK (firewall_mark BETWEEN 0 AND 4294967295),
    firewall_mark_overridable      boolean NOT NULL DEFAULT false,
    routing_table                  text NOT NULL DEFAULT '',
    routing_table_overridable      boolean NOT NULL DEFAULT false,
    pre_up                         text NOT NULL DEFAULT '',
    pre_up_overridable             boolean NOT NULL DEFAULT false,
    post_up                        text NOT NULL DEFAULT '',
    post_up_overridable            boolean NOT NULL DEFAULT false,
    pre_down                       text NOT NULL DEFAULT '',
    pre_down_overridable           boolean NOT NULL DEFAULT false,
    post_down                      text NOT NULL DEFAULT '',
    post_down_overridable          boolean NOT NULL DEFAULT false,
    created_by                     text NOT NULL DEFAULT '',
    updated_by                     text NOT NULL DEFAULT '',
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX peers_interface ON peers (interface_identifier);
CREATE INDEX peers_user ON peers (user_identifier) WHERE user_identifier <> '';

-- What the collector last saw of each peer (wg-portal's domain.PeerStatus). No foreign key: the
-- collector records what WireGuard reports; deleting or re-keying a peer removes its row.
CREATE TABLE peer_status (
    peer_identifier      text PRIMARY KEY,                   -- the peer's public key
    interface_identifier text NOT NULL DEFAULT '',
    is_connected         boolean NOT NULL DEFAULT false,     -- the state last published
    is_pingable          boolean NOT NULL DEFAULT false,
    last_ping            timestamptz,
    bytes_received       bigint NOT NULL DEFAULT 0 CHECK (bytes_received >= 0),
    bytes_transmitted    bigint NOT NULL DEFAULT 0 CHECK (bytes_transmitted >= 0),
    endpoint             text NOT NULL DEFAULT '',
    last_handshake       timestamptz,
    last_session_start   timestamptz,
    -- set while the raw rule says "disconnected" but the disconnect grace has not yet passed
    disconnected_since   timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (disconnected_since IS NULL OR is_connected)
);
CREATE INDEX peer_status_interface ON peer_status (interface_identifier);

-- The periodic jobs one replica runs for the whole cluster (reconcile with wg-portal, the
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

-- How many envelopes POST /ingest/wg-portal could not read as a known wg-portal model and
-- delivered verbatim (wg_webhooks_ingest_unrecognised_total; a counter never goes down).
CREATE TABLE ingest_unrecognised (
    entity  text NOT NULL,
    event   text NOT NULL,
    count   bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (entity, event)
);

-- The web console's sessions: only a SHA-256 of the cookie's token is kept.
CREATE TABLE console_sessions (
    token_hash  text PRIMARY KEY,
    identifier  text NOT NULL,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
