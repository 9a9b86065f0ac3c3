"""/metrics: Prometheus figures about deliveries, computed from Postgres at scrape time.

Workers and relays are other processes, often on other hosts, so nothing is counted in memory
where it happens: every figure is read from the tables, and every API replica reports the
same cluster-wide numbers (aggregate replicas with `max`, never `sum`).

- Gauges (pending, in flight, dead, oldest undelivered age, overdue lag, disabled) are counts
  of what is in the tables now.
- Counters and histograms (attempts by outcome and status class, commit-to-2xx latency, claim
  batch sizes) are built from `webhook_attempts`, read incrementally by id, so retention
  deleting old rows never makes a counter go down. Ids are handed out before their
  transactions commit, so the most recent ids (the last `SETTLE_SECONDS`) are counted afresh
  on every scrape and only folded into the running totals once every transaction that could
  hold one of them has finished. Like any counter, they start at zero with the process.

Labels are endpoint names, outcomes and status classes: never URLs or secrets.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Info,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from psycopg import Connection

from services.api.ingest import IngestCollector
from services.api.prometheus_jobs import JobsCollector
from services.api.request_timing import RequestTiming, request_histogram
from services.api.state import ApiState
from services.db.queries import query
from services.version import VERSION

router = APIRouter(tags=["Health"])

# Every transaction that inserts attempts commits well within this after taking its ids.
SETTLE_SECONDS = 300.0
_NO_UPPER_BOUND = 2**63 - 1

LATENCY_BOUNDS = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
)  # fmt: skip
BATCH_BOUNDS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)


@dataclass
class _Histograms:
    """Per endpoint: non-cumulative counts per bucket (the last one is +Inf only) and sums."""

    bounds: Sequence[float]
    buckets: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, endpoint: str, above: int, count: int, total: float) -> None:
        """`count` values summing to `total` that are above `above` of the bounds."""
        buckets = self.buckets.setdefault(endpoint, [0] * (len(self.bounds) + 1))
        buckets[min(max(above, 0), len(self.bounds))] += count
        self.sums[endpoint] = self.sums.get(endpoint, 0.0) + total

    def plus(self, other: _Histograms) -> _Histograms:
        merged = _Histograms(self.bounds)
        for source in (self, other):
            for endpoint, buckets in source.buckets.items():
                for index, count in enumerate(buckets):
                    merged.observe(endpoint, index, count, 0.0)
            for endpoint, total in source.sums.items():
                merged.sums[endpoint] = merged.sums.get(endpoint, 0.0) + total
        return merged

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=["endpoint"])
        for endpoint in sorted(self.buckets):
            running = 0
            cumulative: list[tuple[str, float]] = []
            for bound, count in zip(
                (*self.bounds, float("inf")), self.buckets[endpoint], strict=True
            ):
                running += count
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
            family.add_metric([endpoint], cumulative, sum_value=self.sums.get(endpoint, 0.0))
        return family


@dataclass
class _Tally:
    attempts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    latency: _Histograms = field(default_factory=lambda: _Histograms(LATENCY_BOUNDS))
    batches: _Histograms = field(default_factory=lambda: _Histograms(BATCH_BOUNDS))

    def plus(self, other: _Tally) -> _Tally:
        return _Tally(
            self.attempts + other.attempts,
            self.latency.plus(other.latency),
            self.batches.plus(other.batches),
        )


def _tally(conn: Connection[Any], lo: int, hi: int) -> _Tally:
    """What the attempts with lo < id <= hi add up to."""
    tally = _Tally()
    span = {"lo": lo, "hi": hi}
    for endpoint, outcome, status_class, count in conn.execute(
        query("metrics_attempts"), span
    ).fetchall():
        tally.attempts[(endpoint, outcome, status_class)] += count
    negated = sorted(-b for b in LATENCY_BOUNDS)
    for endpoint, above, count, total in conn.execute(
        query("metrics_latency"),
        {**span, "bucket_count": len(LATENCY_BOUNDS), "negated_bounds": negated},
    ).fetchall():
        tally.latency.observe(endpoint, above, count, float(total))
    for endpoint, size, count in conn.execute(query("metrics_batches"), span).fetchall():
        above = sum(1 for bound in BATCH_BOUNDS if bound < size)
        tally.batches.observe(endpoint, above, count, float(size * count))
    return tally


class DeliveryCollector:
    """A custom collector: reads Postgres on every scrape (see the module's docstring)."""

    def __init__(self, state: Callable[[], ApiState], settle_seconds: float = SETTLE_SECONDS):
        self._state = state
        self._settle = settle_seconds
        self._lock = threading.Lock()
        self._settled_id: int | None = None  # ids up to here are in _base, for good
        self._base = _Tally()
        self._marks: deque[tuple[float, int]] = deque()  # (when, id sequence position)

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        state = self._state()
        with state.pool.connection() as conn:
            backlog = conn.execute(query("metrics_backlog")).fetchall()
            disabled = dict(conn.execute(query("endpoint_disabled_flags")).fetchall())
            totals = self._totals(conn)
        configured = [e.name for e in state.settings.webhook.endpoints]
        yield from _gauges(configured, backlog, disabled)
        attempts = CounterMetricFamily(
            "wg_webhooks_attempts",
            "Delivery attempts by endpoint, outcome (delivered, retry, dead) and status class "
            "(2xx..5xx, or error for a timeout or connection failure)",
            labels=["endpoint", "outcome", "status_class"],
        )
        for (endpoint, outcome, status_class), count in sorted(totals.attempts.items()):
            attempts.add_metric([endpoint, outcome, status_class], count)
        yield attempts
        yield totals.latency.family(
            "wg_webhooks_delivery_latency_seconds",
            "From the event's commit to the receiver's 2xx answer, per delivery",
        )
        yield totals.batches.family(
            "wg_webhooks_relay_claim_batch_size",
            "Deliveries per relay claim (one webhooks.deliver task), by endpoint",
        )

    def _totals(self, conn: Connection[Any]) -> _Tally:
        with self._lock:
            row = conn.execute(query("metrics_attempts_position")).fetchone()
            position = int(row[0]) if row is not None else 0
            now = time.monotonic()
            if self._settled_id is None:
                self._settled_id = position  # counters start with this process, at zero
            self._marks.append((now, position))
            settled: int | None = None
            while self._marks and now - self._marks[0][0] >= self._settle:
                settled = self._marks.popleft()[1]
            if settled is not None and settled > self._settled_id:
                self._base = self._base.plus(_tally(conn, self._settled_id, settled))
                self._settled_id = settled
            return self._base.plus(_tally(conn, self._settled_id, _NO_UPPER_BOUND))


def _gauges(
    configured: list[str], backlog: list[tuple[Any, ...]], disabled: dict[str, bool]
) -> Iterable[Metric]:
    rows = {row[0]: row[1:] for row in backlog}
    names = configured + sorted((set(rows) | set(disabled)) - set(configured))
    families = [
        GaugeMetricFamily(
            "wg_webhooks_deliveries_pending",
            "Deliveries waiting for their next attempt",
            labels=["endpoint"],
        ),
        GaugeMetricFamily(
            "wg_webhooks_deliveries_in_flight",
            "Deliveries leased to a worker right now",
            labels=["endpoint"],
        ),
        GaugeMetricFamily(
            "wg_webhooks_deliveries_dead",
            "Deliveries that exhausted their retries (kept until re-driven or past retention)",
            labels=["endpoint"],
        ),
        GaugeMetricFamily(
            "wg_webhooks_oldest_pending_age_seconds",
            "Age of the oldest undelivered (pending or in flight) delivery: the outbox lag",
            labels=["endpoint"],
        ),
        GaugeMetricFamily(
            "wg_webhooks_overdue_seconds",
            "How long the most overdue due delivery has waited past its next attempt time",
            labels=["endpoint"],
        ),
    ]
    for name in names:
        pending, in_flight, dead, oldest, overdue = rows.get(name, (0, 0, 0, 0.0, 0.0))
        for family, value in zip(
            families, (pending, in_flight, dead, oldest, overdue), strict=True
        ):
            family.add_metric([name], float(value))
    disabled_family = GaugeMetricFamily(
        "wg_webhooks_endpoint_disabled",
        "1 while an endpoint is disabled after failing for webhook.disable_after",
        labels=["endpoint"],
    )
    for name in names:
        disabled_family.add_metric([name], 1.0 if disabled.get(name) else 0.0)
    yield from families
    yield disabled_family


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition of the delivery figures."""
    registry: CollectorRegistry = request.app.state.prometheus
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Serve /metrics for this app (its own registry: several apps may live in one process):
    the delivery figures, the build's version, this process's CPU/memory/files, and the time
    each request took by route."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeliveryCollector(lambda: app.state.wg))
    registry.register(JobsCollector(lambda: app.state.wg))
    registry.register(IngestCollector(lambda: app.state.wg))
    Info("wg_webhooks_build", "The running build", registry=registry).info({"version": VERSION})
    ProcessCollector(registry=registry)
    app.add_middleware(RequestTiming, histogram=request_histogram(registry))
    app.state.prometheus = registry
    app.include_router(router)
