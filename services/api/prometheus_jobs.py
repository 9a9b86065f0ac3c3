"""/metrics figures of the periodic jobs (reconcile with wg-portal, the expired-peers check).

Read from Postgres at scrape time, like the delivery figures: the job runs on whichever replica
got its lock, and every API replica reports the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from services.api.state import ApiState
from services.db.queries import query

RECONCILE = "reconcile"


class JobsCollector:
    def __init__(self, state: Callable[[], ApiState]) -> None:
        self._state = state

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        with self._state().pool.connection() as conn:
            jobs = conn.execute(query("metrics_jobs")).fetchall()
            differences = conn.execute(query("metrics_reconcile_differences")).fetchall()
        success = GaugeMetricFamily(
            "wg_webhooks_job_last_success_timestamp_seconds",
            "When each periodic job (reconcile, expiry) last finished successfully (Unix time)",
            labels=["job"],
        )
        duration = GaugeMetricFamily(
            "wg_webhooks_job_last_duration_seconds",
            "How long each periodic job's last run (a reconcile round) took",
            labels=["job"],
        )
        runs = CounterMetricFamily(
            "wg_webhooks_job_runs",
            "Runs of each periodic job by outcome (ok, failed: for reconcile, nothing deleted)",
            labels=["job", "outcome"],
        )
        for job, last_success, seconds, ok, failed in jobs:
            if last_success is not None:
                success.add_metric([job], float(last_success))
            duration.add_metric([job], float(seconds))
            runs.add_metric([job, "ok"], float(ok))
            runs.add_metric([job, "failed"], float(failed))
        found = CounterMetricFamily(
            "wg_webhooks_reconcile_differences",
            "Differences reconcile found and applied per entity (non-zero: ingest missed "
            "something; a --baseline round is not counted)",
            labels=["entity"],
        )
        counted = dict(differences)
        for entity in ("user", "interface", "peer"):
            found.add_metric([entity], float(counted.get(entity, 0)))
        yield from (success, duration, runs, found)
