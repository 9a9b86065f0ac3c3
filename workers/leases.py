"""How long a delivery lease holds and how long a task may run, in one place.

A relay leases due deliveries for the time their message may wait in the queue (the grace) plus
one POST round; a worker that starts the task re-arms the lease for one POST round plus a
bounded grace. Celery's time limits sit above the longest POST round, so a task is never killed
while its lease still says it is running. A lease that outlives a crashed worker only delays a
retry; one that ran out under a running task would let a second worker POST the same delivery.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.config import Endpoint

MARGIN = 5.0  # seconds above one POST round for recording its outcome
TASK_GRACE_CAP = 60.0  # a started task needs no more of the queue grace than this
NO_ENDPOINTS_TASK_SECONDS = 60.0


def claim_seconds(endpoint: Endpoint, grace: float) -> float:
    """A relay's lease: queue wait (the grace) + one POST round + margin, so a crashed
    worker's work comes back soon."""
    return grace + endpoint.timeout + MARGIN


def task_seconds(endpoints: Sequence[Endpoint], grace: float) -> float:
    """A started task's lease: one POST round of the slowest endpoint plus the grace (capped)
    and the margin."""
    return max(
        (e.timeout + min(grace, TASK_GRACE_CAP) + MARGIN for e in endpoints),
        default=NO_ENDPOINTS_TASK_SECONDS,
    )


def longest_task_seconds(endpoints: Sequence[Endpoint]) -> float:
    """What Celery's time limits are measured from: the slowest endpoint's POST round plus 30s."""
    if not endpoints:
        return 60.0
    return max(e.timeout for e in endpoints) + 30.0
