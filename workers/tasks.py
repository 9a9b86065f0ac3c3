"""Celery tasks: their arguments are ids and lease tokens, never payloads or secrets."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import psycopg

from services.db.queries import query
from services.endpoint_health import record_outcomes
from workers import leases, runtime
from workers.app import app
from workers.delivery import Job, Sent, send_batch
from workers.heartbeat import heartbeat

log = logging.getLogger(__name__)


@app.task(name="webhooks.deliver")
def deliver(delivery_ids: list[int], lease_token: str) -> int:
    """POST the leased deliveries, record every attempt; a stale message is a no-op."""
    rt = runtime.current()
    # The message's token is spent on start: a duplicate delivered to another thread or
    # worker at the same moment finds no rows under it and POSTs nothing.
    run_token = str(uuid.uuid4())
    try:
        rows = _start(rt, delivery_ids, lease_token, run_token)
    except psycopg.OperationalError as exc:
        # Nothing was sent: the lease expires and the relay hands the rows out again.
        log.warning("database unavailable at task start (%s); leases will expire", _short(exc))
        return 0
    if not rows:
        log.info("stale or duplicate message for lease %s: nothing to do", lease_token)
        return 0
    hold_for = leases.task_seconds(rt.settings.webhook.endpoints, rt.settings.webhook.lease_grace)
    with heartbeat.holding(run_token, [row[0] for row in rows], hold_for):
        return _deliver_rows(rt, rows, run_token)


def _start(rt: runtime.Runtime, ids: list[int], lease_token: str, run_token: str) -> list[Any]:
    """Take the lease over and read what to send (an empty list: stale or duplicate)."""
    with rt.pool.connection() as conn:
        # re-arming a lease needs no WAL flush: lost in a crash, it only expires sooner
        conn.execute("SET LOCAL synchronous_commit = off")
        rows = conn.execute(
            query("start_lease"),
            {
                "ids": ids,
                "lease_token": lease_token,
                "run_token": run_token,
                "lease_seconds": leases.STARTED_SECONDS,  # short: the heartbeat renews it
            },
        ).fetchall()
        # After the lease is ours: a change committed before it (a removal, a new URL) is seen
        # here, so nothing is POSTed to a URL its endpoint no longer has.
        if rows:
            rt.endpoints.refresh(conn)
        conn.commit()
    return rows


def _deliver_rows(rt: runtime.Runtime, rows: list[Any], run_token: str) -> int:
    by_endpoint: dict[str, list[Job]] = {}
    for delivery_id, webhook_id, endpoint_name, attempts, body, created_at, trace in rows:
        by_endpoint.setdefault(endpoint_name, []).append(
            Job(delivery_id, webhook_id, attempts, body, created_at, trace)
        )
    sent: list[Sent] = []
    counts: dict[str, tuple[int, int]] = {}
    for endpoint_name, jobs in by_endpoint.items():
        endpoint = rt.endpoints.get(endpoint_name)
        if endpoint is None:
            _give_back(rt, [j.delivery_id for j in jobs], run_token)
            log.warning(
                "endpoint %s was removed: %d deliveries wait for it (nothing sent)",
                endpoint_name,
                len(jobs),
            )
            continue
        results = send_batch(
            endpoint, jobs, block_private=rt.settings.webhook.block_private_networks
        )
        for one in results:
            _log_attempt(endpoint_name, one)
        delivered = sum(1 for s in results if s.outcome.status == "delivered")
        counts[endpoint_name] = (delivered, len(results) - delivered)
        sent.extend(results)
    # The POSTs happened: keep trying to record them through a database blip (a restart takes
    # seconds), rather than let the lease expire and send them all again.
    for pause in (0.5, 1.0, 2.0, 4.0, 8.0, 0.0):
        try:
            _record(rt, sent, run_token, counts)
            return len(sent)
        except psycopg.OperationalError as exc:
            if not pause:
                log.warning(
                    "could not record %d attempts (%s); their leases will expire and they "
                    "will be sent again",
                    len(sent),
                    _short(exc),
                )
                return 0
            log.warning("database unavailable recording results (%s); retrying", _short(exc))
            time.sleep(pause)
    return 0


def _give_back(rt: runtime.Runtime, ids: list[int], run_token: str) -> None:
    """Pending again at once, unsent: they wait, by name, for their endpoint to come back."""
    try:
        with rt.pool.connection() as conn, conn.transaction():
            conn.execute(query("release_rows"), {"ids": ids, "token": run_token})
    except psycopg.OperationalError as exc:
        log.warning("could not give back leases (%s); they will expire", _short(exc))


def _log_attempt(endpoint_name: str, sent: Sent) -> None:
    """One line per POST (DEBUG when delivered): JSON logs carry its ids as fields."""
    result, job = sent.result, sent.job
    answer = f"HTTP {result.status_code}" if result.status_code is not None else result.error
    log.log(
        logging.DEBUG if sent.outcome.status == "delivered" else logging.INFO,
        "delivery %d attempt %d to %s: %s -> %s",
        job.delivery_id,
        job.attempts + 1,
        endpoint_name,
        answer,
        sent.outcome.status,
        extra={
            "event_id": job.webhook_id,  # the webhook-id header: what the receiver sees
            "delivery_id": job.delivery_id,
            "endpoint": endpoint_name,
            "attempt": job.attempts + 1,
        },
    )


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


# endpoint -> when this process last wrote a clean success for it (monotonic seconds)
_last_success_written: dict[str, float] = {}
HEALTHY_REFRESH = 5.0


def _health_worth_writing(counts: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Drop all-success batches of endpoints this process saw healthy a moment ago.

    Writing the health row locks it until commit; doing that for every batch would make all
    tasks of one endpoint commit one after another. A failure is always written; a success
    at least every HEALTHY_REFRESH seconds, which keeps last_success_at (and the end of a
    failing streak) current within that.
    """
    now = time.monotonic()
    worth: dict[str, tuple[int, int]] = {}
    for name, (ok, failed) in counts.items():
        if failed:
            _last_success_written.pop(name, None)
            worth[name] = (ok, failed)
        elif now - _last_success_written.get(name, -HEALTHY_REFRESH) >= HEALTHY_REFRESH:
            _last_success_written[name] = now
            worth[name] = (ok, failed)
    return worth


def _record(
    rt: runtime.Runtime, sent: list[Sent], run_token: str, counts: dict[str, tuple[int, int]]
) -> None:
    if not sent:
        return
    params: dict[str, Any] = {
        "run_token": run_token,
        "ids": [s.job.delivery_id for s in sent],
        "outcomes": [s.outcome.status for s in sent],
        "delays": [s.outcome.delay or 0.0 for s in sent],
        "codes": [s.result.status_code for s in sent],
        "errors": [s.result.error for s in sent],
        "bodies": [s.result.response_body.replace("\x00", "") for s in sent],
        "attempted": [s.attempted_at for s in sent],
        "durations": [s.result.duration_ms for s in sent],
    }
    with rt.pool.connection() as conn, conn.transaction():
        # the statement also wakes the relays (NOTIFY at commit): capacity was freed
        changed = conn.execute(query("record_results"), params).fetchone()
        disabled = record_outcomes(
            conn, _health_worth_writing(counts), rt.settings.webhook.disable_after
        )
    for name in disabled:
        log.warning(
            "endpoint %s disabled: nothing but failures for webhook.disable_after; its "
            "deliveries wait until `wg-webhooks endpoints enable %s`",
            name,
            name,
        )
    if changed is not None and changed[0] != len(sent):
        log.warning(
            "the lease of run %s was lost before its results were recorded (%d of %d kept)",
            run_token,
            changed[0],
            len(sent),
        )
