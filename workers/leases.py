"""How long a delivery lease holds and how long a task may run, in one place.

A relay leases due deliveries for the time their message may wait in the queue (the grace) plus
one POST round (a relay gives such leases back at once when the queue is lost). A worker that
starts the task re-arms the lease for `STARTED_SECONDS` only, and its heartbeat renews it every
`RENEW_EVERY` while the task works, up to one POST round plus a bounded grace (`task_seconds`):
a killed worker's rows come back within seconds. Celery's time limits sit above the longest
POST round, so a task is never killed while its lease still says it is running. A lease that
outlives a crashed worker only delays a retry; one that ran out under a running task would let
a second worker POST the same delivery, which the heartbeat prevents while it reaches Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.config import Endpoint

MARGIN = 5.0  # seconds above one POST round for recording its outcome
STARTED_SECONDS = 8.0  # a started task's lease, from its start or its heartbeat's last renewal
RENEW_EVERY = 2.0  # the heartbeat: four renewals per lease, so a missed one or two cost nothing
TASK_GRACE_CAP = 60.0  # a started task needs no more of the queue grace than this
NO_ENDPOINTS_TASK_SECONDS = 60.0


def claim_seconds(endpoint: Endpoint, grace: float) -> float:
    """A relay's lease: queue wait (the grace) + one POST round + margin, so a crashed
    worker's work comes back soon."""
    return grace + endpoint.timeout + MARGIN


def task_seconds(endpoints: Sequence[Endpoint], grace: float) -> float:
    """The longest a started task's heartbeat keeps its lease alive: one POST round of the
    slowest endpoint plus the grace (capped) and the margin (a task still running after that
    is stuck, not slow)."""
    return max(
        (e.timeout + min(grace, TASK_GRACE_CAP) + MARGIN for e in endpoints),
        default=NO_ENDPOINTS_TASK_SECONDS,
    )


def longest_task_seconds(endpoints: Sequence[Endpoint]) -> float:
    """What Celery's time limits are measured from: the slowest endpoint's POST round plus 30s."""
    if not endpoints:
        return 60.0
    return max(e.timeout for e in endpoints) + 30.0
