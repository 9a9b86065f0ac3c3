"""Group commit: one thread per worker process writes what came of the POSTs of all its tasks.

A task hands its answers over (`recorder.submit`) and goes on at once: it leases its
endpoint's next deliveries while they are written, so a POST's slot is free again after one
claim, not after a durable commit. The thread takes everything handed over meanwhile into one
transaction (one statement for the attempts, one for the endpoints' health, one commit that
waits for the WAL flush): the busier the worker, the more results per commit. A task waits for
its results before it ends, and its heartbeat keeps their leases until then; results that
cannot be written through a database outage are given up after about 15 s (their leases
expire: sent again, a duplicate the receiver drops by `webhook-id`).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from services.db.pool import own_transactions
from services.db.queries import query
from services.endpoint_health import outcomes_params
from workers import runtime
from workers.delivery import Sent

log = logging.getLogger("workers.tasks")

MAX_ROWS = 500  # the most attempts one transaction writes
PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)  # between tries through a database outage
HEALTHY_REFRESH = 5.0  # a clean success is written to an endpoint's health this often


@dataclass
class _Handed:
    run_token: str
    endpoint: str
    sent: list[Sent]
    wake: bool  # NOTIFY the relays if the room freed has takers (the task leases no more)
    done: concurrent.futures.Future[bool] = field(default_factory=concurrent.futures.Future)


class Recorder:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Handed] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0
        # endpoint -> when this process last wrote a clean success for it (monotonic)
        self._success_written: dict[str, float] = {}

    def submit(
        self, run_token: str, endpoint: str, sent: list[Sent], wake: bool
    ) -> concurrent.futures.Future[bool]:
        """Write `sent` (rows still under `run_token` change); the future is True once they
        are committed, False when they could not be (their leases expire)."""
        handed = _Handed(run_token, endpoint, sent, wake)
        with self._lock:
            if self._pid != os.getpid():  # first use, or first use after a fork
                self._pid = os.getpid()
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, name="result-recorder", daemon=True).start()
            self._queue.put(handed)
        return handed.done

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                recorded = self._write(runtime.current(), batch)
            except Exception:  # never let one batch stop the thread: its leases expire
                log.exception("could not record %d attempts", sum(len(h.sent) for h in batch))
                recorded = False
            for handed in batch:
                handed.done.set_result(recorded)

    def _take(self) -> list[_Handed]:
        """What was handed over: wait for the first, then take what else is there."""
        batch = [self._queue.get()]
        rows = len(batch[0].sent)
        while rows < MAX_ROWS:
            try:
                handed = self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(handed)
            rows += len(handed.sent)
        return batch

    def _write(self, rt: runtime.Runtime, batch: list[_Handed]) -> bool:
        """One transaction for the batch, tried again through a database outage."""
        health = outcomes_params(
            self._health_worth_writing(batch), rt.settings.webhook.disable_after
        )
        params = _record_params(batch)
        for pause in (*PAUSES, 0.0):
            try:
                with rt.pool.connection() as conn, own_transactions(conn), conn.pipeline():
                    conn.execute(b"BEGIN")
                    changed = conn.execute(query("record_results"), params)
                    # last: it locks the endpoints' health rows until commit
                    disabled = conn.execute(query("endpoint_outcomes"), health) if health else None
                    conn.execute(b"COMMIT")
                _report(batch, changed, disabled)
                return True
            except psycopg.OperationalError as exc:  # an outage, a deadlock with the heartbeat
                if not pause:
                    log.warning(
                        "could not record %d attempts (%s); their leases will expire and they "
                        "will be sent again",
                        len(params["ids"]),
                        _short(exc),
                    )
                    return False
                log.warning("database unavailable recording results (%s); retrying", _short(exc))
                time.sleep(pause)
        return False

    def _health_worth_writing(self, batch: list[_Handed]) -> dict[str, tuple[int, int]]:
        """Each endpoint's (delivered, failed) in the batch, without all-success counts of
        endpoints this process wrote healthy a moment ago.

        Writing the health row locks it until commit; doing that for every batch would make
        all workers of one endpoint commit one after another. A failure is always written; a
        success at least every HEALTHY_REFRESH seconds, which keeps last_success_at (and the
        end of a failing streak) current within that.
        """
        counts: dict[str, tuple[int, int]] = {}
        for handed in batch:
            ok = sum(1 for s in handed.sent if s.outcome.status == "delivered")
            before = counts.get(handed.endpoint, (0, 0))
            counts[handed.endpoint] = (before[0] + ok, before[1] + len(handed.sent) - ok)
        now = time.monotonic()
        worth: dict[str, tuple[int, int]] = {}
        for name, (ok, failed) in counts.items():
            if failed:
                self._success_written.pop(name, None)
                worth[name] = (ok, failed)
            elif now - self._success_written.get(name, -HEALTHY_REFRESH) >= HEALTHY_REFRESH:
                self._success_written[name] = now
                worth[name] = (ok, failed)
        return worth


def _record_params(batch: list[_Handed]) -> dict[str, Any]:
    # rows locked in id order, as the heartbeat's renewal locks them: the two never deadlock
    rows = sorted(((h, s) for h in batch for s in h.sent), key=lambda pair: pair[1].job.delivery_id)
    return {
        "ids": [s.job.delivery_id for _, s in rows],
        "tokens": [h.run_token for h, _ in rows],
        "wakes": [h.wake for h, _ in rows],
        "outcomes": [s.outcome.status for _, s in rows],
        "delays": [s.outcome.delay or 0.0 for _, s in rows],
        "codes": [s.result.status_code for _, s in rows],
        "errors": [s.result.error for _, s in rows],
        "bodies": [s.result.response_body.replace("\x00", "") for _, s in rows],
        "attempted": [s.attempted_at for _, s in rows],
        "durations": [s.result.duration_ms for _, s in rows],
    }


def _report(
    batch: list[_Handed], changed: psycopg.Cursor[Any], disabled: psycopg.Cursor[Any] | None
) -> None:
    """Log what the statements found: endpoints disabled, leases lost before their results."""
    for (name,) in disabled.fetchall() if disabled is not None else []:
        log.warning(
            "endpoint %s disabled: nothing but failures for webhook.disable_after; its "
            "deliveries wait until `wg-webhooks endpoints enable %s`",
            name,
            name,
        )
    row = changed.fetchone()
    kept = set(row[0]) if row is not None else set()
    for handed in batch:
        lost = [s.job.delivery_id for s in handed.sent if s.job.delivery_id not in kept]
        if lost:
            log.warning(
                "the lease of run %s was lost before its results were recorded (%d of %d kept)",
                handed.run_token,
                len(handed.sent) - len(lost),
                len(handed.sent),
            )


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


recorder = Recorder()
