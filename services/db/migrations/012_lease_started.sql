-- 012: liveness instead of long leases (DESIGN §2, issue 15).
--
-- A lease is either queued (the relay leased the rows and published a message to Redis) or
-- started (a worker took it over with its own token). A started lease is short and renewed by
-- the worker's heartbeat while it works, so a killed worker's rows come back in seconds. A
-- queued one lasts for the queue wait, but when the queue is lost (Redis restarted empty or
-- flushed) a relay gives all queued leases back at once: their messages went with it.
ALTER TABLE webhook_deliveries ADD COLUMN lease_started boolean NOT NULL DEFAULT false;
