"""Figures 1, 2, 3, 9 and the peak memory of figure 10: how fast a committed backlog drains.

1: Celery's own ceiling (no-op tasks, the project's settings and worker command);
2: this service (relay + batched tasks), 20,000 committed events, one fast receiver;
3: the naive recipe (a task per event, `.delay(envelope)` after commit);
9: figure 2's drain (its first 10,000 deliveries) with 1, 2 and 4 worker processes, with the
   CPU each part used.
All use the same worker command and number of worker processes (figure 9 aside).
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import redis

from services.config import Endpoint
from tests.benchmarks.deploy import deployed
from tests.benchmarks.events import record_many
from tests.benchmarks.measure import Sampler, rate_between, timeline
from tests.benchmarks.receivers import start_receiver, wait_for_count
from tests.benchmarks.run import (
    BATCH_SIZE,
    MAX_IN_FLIGHT,
    Figure,
    Run,
    drain,
    one_endpoint,
    settle,
)

WORKERS = 2
INCLUDE = ("--include", "tests.benchmarks.celery_tasks")
EVENTS_TEMPLATE = "bench_events_one"


def events_template(run: Run, count: int) -> str:
    """A template database holding `count` committed events for endpoint `default`."""
    if EVENTS_TEMPLATE not in run.stack.databases:
        dsn = run.stack.database(EVENTS_TEMPLATE)
        began = time.monotonic()
        default = [Endpoint("default", "http://127.0.0.1:9/")]
        record_many(dsn, count, lambda _i: default)
        run.plots["record_seconds"] = time.monotonic() - began
    return EVENTS_TEMPLATE


def figure_1(run: Run) -> Figure:
    total = run.size(20_000, 2_000)
    dsn = run.stack.database("f1")
    receiver = start_receiver()
    try:
        cfg = one_endpoint(receiver.url)
        with deployed(
            run.stack, dsn, run.logs("f1"), cfg, workers=WORKERS, relay=False, worker_args=INCLUDE
        ):
            rate, enqueue_rate = _noop_drain(run, total)
    finally:
        receiver.stop()
    return run.add(
        Figure(
            1,
            "Celery no-op ceiling",
            f"{rate:,.0f} tasks/s",
            "reference",
            None,
            {"tasks": total, "rate": rate, "enqueue_rate": enqueue_rate, "workers": WORKERS},
        )
    )


def _noop_drain(run: Run, total: int) -> tuple[float, float]:
    """Park `total` messages in a side queue, move them under the worker's queue at once,
    time from the first one taken to the last one acknowledged (acks are late)."""
    import tests.benchmarks.celery_tasks  # noqa: F401  (registers the tasks)
    from workers.app import app

    client = redis.Redis.from_url(run.stack.redis_url)
    began = time.monotonic()
    with app.producer_or_acquire() as producer:
        for _ in range(total):
            app.send_task("bench.noop", queue="bench-parked", producer=producer)
    enqueue_rate = total / (time.monotonic() - began)
    client.rename("bench-parked", "webhooks")
    deadline = time.monotonic() + 300
    started = None
    while time.monotonic() < deadline:
        waiting = int(client.llen("webhooks"))
        if started is None and waiting < total:
            started = time.monotonic()
        if waiting == 0 and int(client.hlen("unacked")) == 0:
            break
        time.sleep(0.005)
    ended = time.monotonic()
    client.close()
    return total / (ended - (started or ended)), enqueue_rate


def figure_2(run: Run) -> Figure:
    total = run.size(20_000, 2_000)
    template = events_template(run, total)
    dsn = run.stack.database("f2", template)
    receiver = start_receiver()
    api_receiver = start_receiver()
    try:
        result = _drain_with_api(run, dsn, receiver, api_receiver, total)
    finally:
        receiver.stop()
        api_receiver.stop()
    run.plots["throughput_ours"] = timeline(result.arrivals, min(result.arrivals, default=0))
    cpu = result.sampler.cpu
    run.plots["memory_peak"] = {
        kind: result.sampler.peak_rss(kind) for kind in ("api", "relay", "worker")
    }
    return run.add(
        Figure(
            2,
            "delivery throughput",
            f"{result.rate:,.0f} deliveries/s",
            ">= 3x figure 1, CPU <= 0.7 ms/delivery",
            None,  # decided in the table, against figure 1
            {
                "events": total,
                "delivered": result.delivered,
                "rate": result.rate,
                "seconds": result.seconds,
                "max_in_flight": MAX_IN_FLIGHT,
                "batch_size": BATCH_SIZE,
                "workers": WORKERS,
                "duplicates": result.duplicates,
                "receiver_max_concurrent": result.receiver_max_concurrent,
                "cpu_seconds": cpu,
                "cpu_ms_per_delivery": {k: 1000 * v / max(1, total) for k, v in cpu.items()},
                "cpu_ms_per_delivery_total": 1000 * sum(cpu.values()) / max(1, total),
                "wal_bytes_per_delivery": result.wal_bytes / max(1, total),
                "redis_commands_per_delivery": result.redis_commands / max(1, total),
            },
        )
    )


def _drain_with_api(run: Run, dsn: str, receiver: Any, api_receiver: Any, total: int) -> Any:
    """Figure 2's drain, with an API process up beside it (figure 10 wants its memory)."""
    from tests.benchmarks.deploy import ApiSpec, config, endpoint

    api_cfg = config([endpoint("default", api_receiver.url)])
    with deployed(
        run.stack, dsn, run.logs("f2-api"), api_cfg, workers=0, relay=False,
        apis=[ApiSpec(api_cfg)],
    ) as api:  # fmt: skip
        return drain(
            run, "f2", dsn, one_endpoint(receiver.url), [receiver], total,
            workers=WORKERS, extra_pids={"api": api.pids()["api"]},
        )  # fmt: skip


def figure_3(run: Run) -> Figure:
    total = run.size(20_000, 2_000)
    template = events_template(run, total)
    dsn = run.stack.database("f3", template)
    import tests.benchmarks.celery_tasks  # noqa: F401  (registers the tasks)
    from workers.app import app

    with psycopg.connect(dsn) as conn:
        bodies = [row[0] for row in conn.execute("SELECT body FROM webhook_events ORDER BY id")]
    receiver = start_receiver()
    try:
        cfg = one_endpoint(receiver.url)
        with deployed(
            run.stack, dsn, run.logs("f3"), cfg, workers=WORKERS, relay=False, worker_args=INCLUDE
        ):
            began = time.monotonic()
            with app.producer_or_acquire() as producer:
                for body in bodies:  # what an after-commit hook does, once per event
                    app.send_task("bench.naive_deliver", args=[body], producer=producer)
            enqueue_rate = len(bodies) / (time.monotonic() - began)
            seen = wait_for_count([receiver], len(bodies), timeout=300)
        _, arrivals = receiver.arrivals()
    finally:
        receiver.stop()
    rate = rate_between(arrivals, 0, min(seen, total) - 1)
    run.plots["throughput_naive"] = timeline(arrivals, min(arrivals, default=0))
    return run.add(
        Figure(
            3,
            "naive baseline",
            f"{rate:,.0f} deliveries/s",
            "2 / 3 >= 4",
            None,
            {"events": total, "delivered": seen, "rate": rate, "enqueue_rate": enqueue_rate},
        )
    )


def figure_9(run: Run) -> Figure:
    # the first 10,000 of figure 2's 20,000 events: three drains must fit the time budget
    total = run.size(10_000, 2_000)
    template = events_template(run, run.size(20_000, 2_000))
    rows: dict[str, Any] = {}
    receiver = start_receiver()
    try:
        for workers in (1, 2, 4):
            dsn = run.stack.database(f"f9_{workers}", template)
            result = drain(
                run, f"f9-{workers}", dsn, one_endpoint(receiver.url), [receiver], total,
                workers=workers,
            )  # fmt: skip
            rows[str(workers)] = _scale_row(result.rate, result.sampler, total)
            run.stack.drop(f"f9_{workers}")
            settle(0.5)
    finally:
        receiver.stop()
    text = ", ".join(
        f"{w}w {r['rate']:,.0f}/s ({r['cores_used']:.2f} cores)" for w, r in rows.items()
    )
    return run.add(Figure(9, "scale (worker processes)", text, "reported", None, rows))


def _scale_row(rate: float, sampler: Sampler, total: int) -> dict[str, Any]:
    cpu = sampler.cpu
    busy = sum(cpu.values())
    return {
        "rate": rate,
        "cpu_seconds": cpu,
        "cores_used": busy / sampler.wall if sampler.wall else float("nan"),
        "cpu_ms_per_delivery": 1000 * busy / max(1, total),
    }
