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
# A task keeps leasing its endpoint's due deliveries itself for this long (a burst: one Celery
# message for many batches), then finishes what it has in flight and ends.
DRAIN_SECONDS = 10.0
# An idle task waits this long for its endpoint's next event (a NOTIFY) before it ends, so a
# steady trickle is sent by a running task without a claim, a publish and a task start each.
LINGER_SECONDS = 2.0
# Tasks in flight per endpoint: a black-holed endpoint holds at most this many worker threads
# (each for up to its timeout), however its events trickle in; the others keep flowing.
MAX_TASKS_PER_ENDPOINT = 4


def batch_size(endpoint: Endpoint, configured: int) -> int:
    """How many deliveries the relay leases for one new task: half the endpoint's cap (at most
    the configured batch), so a second task can start beside it."""
    return max(1, min(configured, endpoint.max_in_flight // 2 or 1))


def claim_seconds(endpoint: Endpoint, grace: float) -> float:
    """A relay's lease: queue wait (the grace) + one POST round + margin, so a crashed
    worker's work comes back soon."""
    return grace + endpoint.timeout + MARGIN


def task_seconds(endpoints: Sequence[Endpoint], grace: float) -> float:
    """The longest a started task's heartbeat keeps its lease alive: one POST round of the
    slowest endpoint plus the grace (capped) and the margin (a task still running after that
    is stuck, not slow)."""
    return max(
        (DRAIN_SECONDS + e.timeout + min(grace, TASK_GRACE_CAP) + MARGIN for e in endpoints),
        default=NO_ENDPOINTS_TASK_SECONDS,
    )


def longest_task_seconds(endpoints: Sequence[Endpoint]) -> float:
    """What Celery's time limits are measured from: a burst and the slowest endpoint's POST
    round, plus 30s."""
    if not endpoints:
        return 60.0
    return DRAIN_SECONDS + LINGER_SECONDS + max(e.timeout for e in endpoints) + 30.0


def window(endpoint: Endpoint, configured: int) -> int:
    """How many POSTs one running task keeps in flight for its endpoint: the whole cap, at most
    the configured batch. It refills as answers come in, so one task can keep a slow receiver's
    cap busy; a second task of the endpoint takes what the cap leaves."""
    return max(1, min(configured, endpoint.max_in_flight))
