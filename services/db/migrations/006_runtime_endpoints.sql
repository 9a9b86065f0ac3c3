-- 006: endpoints added at runtime through the API or the CLI (the config file's stay in the file).
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
