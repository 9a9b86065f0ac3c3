"""A task's burst: its endpoint's POST pipeline kept full, one Celery message for many batches.

The relay's message starts a task with one batch. The task POSTs it on the process's event
loop (`workers.http`) and, as answers come in, records them and leases the endpoint's next due
deliveries itself in the same transaction (`claim_more`: the relay's rules, the endpoint's
claim lock, started at once under the task's own token), so up to `leases.batch_size` POSTs of
its endpoint stay in flight without a claim round, a publish and a task start per batch. It
stops leasing after `leases.DRAIN_SECONDS` (a slow endpoint gives its worker thread back
regularly), and when nothing is due it waits `leases.LINGER_SECONDS` for the next NOTIFY
(`workers.wakeup`) before it ends. Everything it holds is renewed by the heartbeat while it
runs; a killed task's rows come back within the started lease, as before.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from services.db.queries import query
from services.endpoint_health import outcomes_params
from workers import leases, runtime
from workers.delivery import Job, Sent, submit
from workers.handoff import Handoff, for_process
from workers.heartbeat import heartbeat
from workers.wakeup import wakeup

log = logging.getLogger("workers.tasks")

LINGER_STEP = 0.25  # how soon a waiting task notices a shutdown
GATHER_SECONDS = 0.02  # the longest the first answer of a round waits for the others


class _Lingering:
    """How many tasks of this process wait for their endpoint's next event."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self._count >= max(1, runtime.pool_size // 2):
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1


_lingering = _Lingering()


def jobs_of(rows: Sequence[Any]) -> list[Job]:
    return [
        Job(delivery_id, webhook_id, attempts, body, created_at, trace)
        for delivery_id, webhook_id, _endpoint, attempts, body, created_at, trace in rows
    ]


class Drain:
    """One task's pipeline for one endpoint, under one run token."""

    def __init__(self, rt: runtime.Runtime, endpoint_name: str, run_token: str) -> None:
        self.rt = rt
        self.endpoint_name = endpoint_name
        self.run_token = run_token
        self.in_flight: dict[concurrent.futures.Future[Sent], Job] = {}
        self.began = time.monotonic()
        self.recorded = 0

    def run(self, jobs: list[Job]) -> int:
        """Send `jobs` and what the endpoint has due after them; the number of attempts
        recorded."""
        handoff = for_process(self.rt.settings.redis_url)
        try:
            return self._run(jobs, handoff)
        finally:
            handoff.drop(self.endpoint_name, self.run_token)

    def _run(self, jobs: list[Job], handoff: Handoff) -> int:
        dsn = self.rt.settings.database_dsn
        self._submit(jobs)
        seen = wakeup.generation(dsn)
        while True:
            if self.in_flight:
                sent = self._collect()
                seen = wakeup.generation(dsn)  # before the claim: a NOTIFY after it counts
                more = self._record(sent, self._room() if self._may_lease() else 0)
                if more is None:  # nothing could be recorded: the leases will expire
                    break
                self._submit(jobs_of(more))
                continue
            # Idle. One task per endpoint waits for the next event; the others end.
            if not self._may_lease() or not handoff.take(self.endpoint_name, self.run_token):
                break
            if not self._linger(seen):
                break
            seen = wakeup.generation(dsn)
            try:
                self._submit(jobs_of(self._claim_alone(self._room())))
            except psycopg.OperationalError as exc:
                log.warning("database unavailable leasing more (%s); ending the burst", short(exc))
                break
        return self.recorded

    def _linger(self, seen: int) -> bool:
        """Wait for a notification after `seen`, at most LINGER_SECONDS, less if the worker
        shuts down; whether one came. Not when half the worker's threads wait already."""
        if not _lingering.enter():
            return False
        try:
            until = time.monotonic() + leases.LINGER_SECONDS
            while not runtime.stopping.is_set():
                left = until - time.monotonic()
                if left <= 0:
                    return False
                if wakeup.wait(seen, min(left, LINGER_STEP)):
                    return True
            return False
        finally:
            _lingering.leave()

    def _collect(self) -> list[Sent]:
        """The answers in so far: at least one, then until half of what is in flight is in,
        for at most GATHER_SECONDS (one transaction records them, one claim refills the
        room: fewer, larger rounds)."""
        done, pending = concurrent.futures.wait(
            self.in_flight, return_when=concurrent.futures.FIRST_COMPLETED
        )
        until = time.monotonic() + GATHER_SECONDS
        while pending and len(done) < len(self.in_flight) / 2:
            left = until - time.monotonic()
            if left <= 0:
                break
            more, pending = concurrent.futures.wait(
                pending, timeout=left, return_when=concurrent.futures.FIRST_COMPLETED
            )
            done |= more
        for future in done:
            del self.in_flight[future]
        return [future.result() for future in done]

    # leasing

    def _may_lease(self) -> bool:
        return (
            time.monotonic() - self.began < leases.DRAIN_SECONDS and not runtime.stopping.is_set()
        )

    def _room(self) -> int:
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if endpoint is None:
            return 0
        return leases.window(endpoint, self.rt.settings.webhook.batch_size) - len(self.in_flight)

    def _claim_alone(self, want: int) -> list[Any]:
        with self.rt.pool.connection() as conn:
            return self._round(conn, [], want)

    def _claim_params(self, want: int) -> dict[str, Any]:
        """The parameters of `claim_more` for up to `want` rows ({}: nothing to claim)."""
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if want <= 0 or endpoint is None:
            return {}
        return {
            "endpoint": self.endpoint_name,
            "run_token": self.run_token,
            "want": want,
            "cap": endpoint.max_in_flight,
            "max_tasks": leases.MAX_TASKS_PER_ENDPOINT,
            "lease_seconds": leases.STARTED_SECONDS,
            "generation": self.rt.endpoints.generation,
        }

    def _submit(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if endpoint is None:
            give_back(self.rt, [j.delivery_id for j in jobs], self.run_token)
            log.warning(
                "endpoint %s was removed: %d deliveries wait for it (nothing sent)",
                self.endpoint_name,
                len(jobs),
            )
            return
        block_private = self.rt.settings.webhook.block_private_networks
        for job in jobs:
            self.in_flight[submit(endpoint, job, block_private)] = job
        heartbeat.hold(self.run_token, [j.delivery_id for j in self.in_flight.values()])

    # recording

    def _record(self, sent: list[Sent], want: int) -> list[Any] | None:
        """Record `sent` and lease up to `want` more (`_round`); the new rows, or None when
        the results could not be recorded (their leases expire: sent again)."""
        for one in sent:
            _log_attempt(self.endpoint_name, one)
        # The POSTs happened: keep trying to record them through a database blip (a restart
        # takes seconds), rather than let the lease expire and send them all again.
        for pause in (0.5, 1.0, 2.0, 4.0, 8.0, 0.0):
            try:
                with self.rt.pool.connection() as conn:
                    claimed = self._round(conn, sent, want)
                self.recorded += len(sent)
                return claimed
            except psycopg.OperationalError as exc:
                if not pause:
                    log.warning(
                        "could not record %d attempts (%s); their leases will expire and they "
                        "will be sent again",
                        len(sent),
                        short(exc),
                    )
                    return None
                log.warning("database unavailable recording results (%s); retrying", short(exc))
                time.sleep(pause)
        return None

    def _round(
        self, conn: psycopg.Connection[Any], sent: list[Sent], want: int, again: bool = True
    ) -> list[Any]:
        """One round trip: record `sent` in a transaction of its own, whose commit waits for
        the WAL flush; then, in a second one that does not, take the endpoint's claim lock and
        lease up to `want` more (`claim_more`). The rows leased ([] when none).

        One pipeline, read only after its single sync: the claim lock is held for the
        server's time only, never across a WAL flush nor while this thread waits for the GIL.
        The runtime endpoints' generation comes along; when it moved, the claim leased nothing
        (its own guard), the snapshot is reloaded and the claim asked again, once."""
        params = self._claim_params(want)
        cursors: dict[str, psycopg.Cursor[Any]] = {}
        try:
            with own_transactions(conn), conn.pipeline():
                cursors["generation"] = conn.execute(query("endpoints_generation"))
                if sent:
                    conn.execute(b"BEGIN")
                    cursors |= _record_statements(
                        conn, self.rt, self.endpoint_name, sent, self.run_token, not params
                    )
                    cursors["committed"] = conn.execute(b"COMMIT")
                if params:
                    conn.execute(b"BEGIN")
                    # a lease lost in a crash only comes back sooner: no WAL flush to wait for
                    conn.execute(b"SET LOCAL synchronous_commit = off")
                    conn.execute(
                        query("claim_lock_endpoint_wait"), {"endpoint": self.endpoint_name}
                    )
                    cursors["claimed"] = conn.execute(query("claim_more"), params)
                    conn.execute(b"COMMIT")
        except psycopg.errors.UniqueViolation:  # the claim's: a key leased meanwhile
            committed = cursors.get("committed")
            if sent and (committed is None or committed.statusmessage != "COMMIT"):
                raise
            return []  # the results are recorded; the next round leases
        if sent:
            _report(cursors, self.run_token, len(sent))
        claimed = cursors["claimed"].fetchall() if params else []
        generation = cursors["generation"].fetchone()
        if generation is not None and generation[0] != self.rt.endpoints.generation:
            self.rt.endpoints.refresh(conn)  # a removal or new URL shows before the next claim
            conn.commit()
            if params and again:
                return self._round(conn, [], min(want, self._room()), again=False)
        return claimed


@contextlib.contextmanager
def own_transactions(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """`conn` sends its own BEGIN and COMMIT meanwhile (two transactions in one pipeline);
    back to the pool's mode after, an aborted transaction rolled back."""
    conn.autocommit = True
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute(b"ROLLBACK")
            conn.autocommit = False


def _record_statements(
    conn: psycopg.Connection[Any],
    rt: runtime.Runtime,
    endpoint_name: str,
    sent: list[Sent],
    run_token: str,
    wake: bool,
) -> dict[str, psycopg.Cursor[Any]]:
    """Queue the statements recording `sent` (only rows still under `run_token` change) and
    the endpoint's health; their cursors. `wake`: NOTIFY the relays if something waits for
    the room freed (False: the caller leases it itself)."""
    # rows locked in id order, as the heartbeat's renewal locks them: the two never deadlock
    sent = sorted(sent, key=lambda s: s.job.delivery_id)
    params: dict[str, Any] = {
        "run_token": run_token,
        "wake": wake,
        "ids": [s.job.delivery_id for s in sent],
        "outcomes": [s.outcome.status for s in sent],
        "delays": [s.outcome.delay or 0.0 for s in sent],
        "codes": [s.result.status_code for s in sent],
        "errors": [s.result.error for s in sent],
        "bodies": [s.result.response_body.replace("\x00", "") for s in sent],
        "attempted": [s.attempted_at for s in sent],
        "durations": [s.result.duration_ms for s in sent],
    }
    # the statement also wakes the relays (NOTIFY at commit): capacity was freed
    cursors = {"changed": conn.execute(query("record_results"), params)}
    delivered = sum(1 for s in sent if s.outcome.status == "delivered")
    counts = _health_worth_writing({endpoint_name: (delivered, len(sent) - delivered)})
    health = outcomes_params(counts, rt.settings.webhook.disable_after)
    if health is not None:  # last: it locks the endpoint's health row until commit
        cursors["disabled"] = conn.execute(query("endpoint_outcomes"), health)
    return cursors


def _report(cursors: dict[str, psycopg.Cursor[Any]], run_token: str, sent: int) -> None:
    """Log what the recording statements found: endpoints disabled, leases lost."""
    if "disabled" in cursors:
        for (name,) in cursors["disabled"].fetchall():
            log.warning(
                "endpoint %s disabled: nothing but failures for webhook.disable_after; its "
                "deliveries wait until `wg-webhooks endpoints enable %s`",
                name,
                name,
            )
    changed = cursors["changed"].fetchone()
    if changed is not None and changed[0] != sent:
        log.warning(
            "the lease of run %s was lost before its results were recorded (%d of %d kept)",
            run_token,
            changed[0],
            sent,
        )


def give_back(rt: runtime.Runtime, ids: list[int], run_token: str) -> None:
    """Pending again at once, unsent: they wait, by name, for their endpoint to come back."""
    try:
        with rt.pool.connection() as conn, conn.transaction():
            conn.execute(query("release_rows"), {"ids": ids, "token": run_token})
    except psycopg.OperationalError as exc:
        log.warning("could not give back leases (%s); they will expire", short(exc))


def _log_attempt(endpoint_name: str, sent: Sent) -> None:
    """One line per POST (DEBUG when delivered): JSON logs carry its ids as fields."""
    level = logging.DEBUG if sent.outcome.status == "delivered" else logging.INFO
    if not log.isEnabledFor(level):
        return
    result, job = sent.result, sent.job
    answer = f"HTTP {result.status_code}" if result.status_code is not None else result.error
    log.log(
        level,
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


def short(exc: BaseException) -> str:
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
