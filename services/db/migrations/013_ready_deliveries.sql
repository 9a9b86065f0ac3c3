-- 013: one definition of "ready to send" for every claimer (issue 15): the relay's claim_due and
-- a running task's claim_more both lease from this view. A delivery is ready when it is pending
-- and its ordering key has, for the same endpoint, nothing in flight and no earlier open
-- delivery (per-identifier order, DESIGN §1.4). Claimers add when it is due and lock the rows
-- they pick (FOR UPDATE SKIP LOCKED reaches through the view to webhook_deliveries).
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
