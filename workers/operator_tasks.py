"""Operator tasks, called by name from Flower (`/api/task/async-apply/...`) or any Celery client.

Arguments and results are ids, names, durations and counts: never payloads or secrets, since
Flower shows both to anyone who can open it. An unknown id or a bad argument fails the task
with a one-line message (an expected error: logged without a traceback).
"""

from __future__ import annotations

import logging

from services import redrive
from services.domain.errors import DomainError, Invalid
from services.endpoints import live
from workers import runtime
from workers.app import app

log = logging.getLogger(__name__)

# A recover re-drives in batches of a few hundred rows, one short transaction each; give it
# room for a very large window. A recover cut short is safe to run again.
RECOVER_TIME_LIMIT = 1800


@app.task(name="webhooks.redeliver", throws=(DomainError,))
def redeliver(delivery_id: int) -> str:
    """Back to pending, due now (any status; a delivered one keeps its webhook-id)."""
    ident = _as_id(delivery_id)
    with runtime.current().pool.connection() as conn:
        previous = redrive.redeliver(conn, [ident])[ident]
    log.info("delivery %d re-driven (was %s)", ident, previous)
    return "pending"


@app.task(
    name="webhooks.recover",
    throws=(DomainError,),
    time_limit=RECOVER_TIME_LIMIT,
    soft_time_limit=RECOVER_TIME_LIMIT - 30,
)
def recover(since: str, endpoint: str | None = None, status: str = "dead") -> int:
    """Re-drive every `status` delivery whose last change is within `since` (like "24h")."""
    seconds = redrive.since_seconds(since, "since")
    rt = runtime.current()
    with rt.pool.connection() as conn:
        if endpoint is not None:
            live.require_known(conn, rt.settings, endpoint, "endpoint: ")
        count = redrive.recover(conn, seconds, endpoint, status)
    log.info(
        "recovered %d %s deliveries of the last %s%s",
        count,
        status,
        since,
        f" for {endpoint}" if endpoint else "",
    )
    return count


def _as_id(value: object) -> int:
    """Flower's form sends numbers as they were typed; accept "42" as well as 42."""
    if isinstance(value, bool):
        raise Invalid(f"delivery_id: {value!r} is not a delivery id")
    try:
        return int(str(value).strip())
    except ValueError:
        raise Invalid(f"delivery_id: {value!r} is not a delivery id") from None
