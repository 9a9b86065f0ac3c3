-- 009: the web console. Sessions live server-side (a sign-out or an expiry ends them on every
-- API replica at once, and no signing key has to be shared); only a SHA-256 of the cookie's
-- token is stored, so a copy of the table signs nobody in.
CREATE TABLE console_sessions (
    token_hash  text PRIMARY KEY,
    identifier  text NOT NULL,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
-- The overview's 24-hour chart reads attempts by time; they are appended in time order, so a
-- BRIN index finds the window for a few pages of index and costs writers next to nothing.
CREATE INDEX webhook_attempts_attempted_at ON webhook_attempts USING brin (attempted_at);
-- The console filters deliveries by identifier: without this, a seq scan of every event
-- (240 ms at 1,000,000 events); with it, a few index pages.
CREATE INDEX webhook_events_identifier ON webhook_events (identifier);
