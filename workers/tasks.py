"""Celery tasks: their arguments are ids and lease tokens, never payloads or secrets."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg

from services.db.pool import own_transactions
from services.db.queries import query
from workers import leases, runtime
from workers.app import app
from workers.drain import Drain, jobs_of, short
from workers.heartbeat import heartbeat

log = logging.getLogger(__name__)


@app.task(name="webhooks.deliver")
def deliver(delivery_ids: list[int], lease_token: str) -> int:
    """POST the leased deliveries, record every attempt, and go on with the endpoint's due
    deliveries for a burst (`workers.drain`); a stale message is a no-op."""
    rt = runtime.current()
    # The message's token is spent on start: a duplicate delivered to another thread or
    # worker at the same moment finds no rows under it and POSTs nothing.
    run_token = str(uuid.uuid4())
    try:
        rows = _start(rt, delivery_ids, lease_token, run_token)
    except psycopg.OperationalError as exc:
        # Nothing was sent: the lease expires and the relay hands the rows out again.
        log.warning("database unavailable at task start (%s); leases will expire", short(exc))
        return 0
    if not rows:
        log.info("stale or duplicate message for lease %s: nothing to do", lease_token)
        return 0
    hold_for = leases.task_seconds(rt.settings.webhook.endpoints, rt.settings.webhook.lease_grace)
    with heartbeat.holding(run_token, [row[0] for row in rows], hold_for):
        # a relay's claim is one endpoint's: the burst goes on with its due deliveries
        by_endpoint: dict[str, list[Any]] = {}
        for row in rows:
            by_endpoint.setdefault(row[2], []).append(row)
        return sum(
            Drain(rt, name, run_token).run(jobs_of(found)) for name, found in by_endpoint.items()
        )


def _start(rt: runtime.Runtime, ids: list[int], lease_token: str, run_token: str) -> list[Any]:
    """Take the lease over and read what to send (an empty list: stale or duplicate)."""
    with rt.pool.connection() as conn:
        # One round trip; re-arming a lease needs no WAL flush: lost in a crash, it only
        # expires sooner.
        with own_transactions(conn), conn.pipeline():
            conn.execute(b"BEGIN")
            conn.execute(b"SET LOCAL synchronous_commit = off")
            started = conn.execute(
                query("start_lease"),
                {
                    "ids": ids,
                    "lease_token": lease_token,
                    "run_token": run_token,
                    "lease_seconds": leases.STARTED_SECONDS,  # short: the heartbeat renews it
                },
            )
            # After the lease is ours: a change committed before it (a removal, a new URL) is
            # seen here, so nothing is POSTed to a URL its endpoint no longer has.
            generation = conn.execute(query("endpoints_generation"))
            conn.execute(b"COMMIT")
        rows = started.fetchall()
        current = generation.fetchone()
        if rows and current is not None and current[0] != rt.endpoints.generation:
            rt.endpoints.refresh(conn)
            conn.commit()
    return rows
