"""Cluster-wide periodic jobs: one replica runs a job at a time, once per interval for all.

Every relay (and so `up`) carries the schedule of the periodic jobs (reconcile with wg-portal,
or the expired-peers check when wg-webhooks is the system of record), but a run happens on one
replica only: it holds a Postgres advisory lock for the run (another replica that tries at the
same time skips its turn), and `periodic_jobs` keeps when the job last started, so replicas that
wake up one after the other do not each run it. `run_job(..., interval=None)` (a command run by
an operator) runs whenever the lock is free.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import Connection

from services.db.queries import query

log = logging.getLogger(__name__)

R = TypeVar("R")


class Status(Enum):
    DONE = "done"
    FAILED = "failed"
    BUSY = "busy"  # another replica is running it now
    NOT_DUE = "not due"  # another replica ran it within the interval


@dataclass(frozen=True)
class JobRun(Generic[R]):
    status: Status
    result: R | None = None
    error: str = ""


class JobFailed(Exception):
    """What a job raises for an expected failure; its message is safe to store and log."""


def run_job(
    dsn: str,
    job: str,
    work: Callable[[Connection[Any]], R],
    interval: float | None = None,
    application_name: str = "wg-webhooks-periodic",
) -> JobRun[R]:
    """Run `work(conn)` as `job` if this replica gets the lock (and the job is due)."""
    with psycopg.connect(dsn, autocommit=True, application_name=application_name) as lock:
        params: dict[str, Any] = {"job": job}
        row = lock.execute(query("job_try_lock"), params).fetchone()
        if row is None or not row[0]:
            return JobRun(Status.BUSY)
        try:
            if interval is not None:
                due = lock.execute(query("job_is_due"), {**params, "interval": interval})
                if not due.fetchone()[0]:  # type: ignore[index]
                    return JobRun(Status.NOT_DUE)
            lock.execute(query("job_start"), params)
            started = time.monotonic()
            try:
                with psycopg.connect(dsn, application_name=application_name) as conn:
                    result = work(conn)
            except (JobFailed, psycopg.Error) as exc:
                error = " ".join(str(exc).split())[:500] or type(exc).__name__
                _finish(lock, job, started, error)
                return JobRun(Status.FAILED, error=error)
            _finish(lock, job, started, "")
            return JobRun(Status.DONE, result)
        finally:
            lock.execute(query("job_unlock"), params)


def _finish(lock: Connection[Any], job: str, started: float, error: str) -> None:
    lock.execute(
        query("job_finish"),
        {"job": job, "seconds": time.monotonic() - started, "ok": not error, "error": error},
    )


class Schedule:
    """Calls `run` in a thread of its own, never two at once, every tenth of the job's interval
    (at most every 30 s): the job itself decides, through `run_job`'s lock and
    `periodic_jobs`, whether this turn is due, so the cluster keeps the interval whichever
    replica runs it. `maybe_run` is cheap: the relay calls it on every turn of its loop.
    """

    def __init__(self, name: str, interval: float, run: Callable[[], None]) -> None:
        self.name = name
        self.interval = max(1.0, min(interval / 10, 30.0))
        self._run = run
        self._next = 0.0  # the first call starts one: a restarted replica catches up at once
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def maybe_run(self) -> bool:
        now = time.monotonic()
        if self._stopped.is_set() or now < self._next:
            return False
        if self._thread is not None and self._thread.is_alive():
            return False
        self._next = now + self.interval
        self._thread = threading.Thread(target=self._guarded, name=self.name, daemon=True)
        self._thread.start()
        return True

    def _guarded(self) -> None:
        try:
            self._run()
        except psycopg.Error as exc:  # the database is down: the next turn tries again
            log.warning("%s: database unavailable (%s)", self.name, str(exc).strip()[:200])

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)
