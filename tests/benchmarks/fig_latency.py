"""Figures 4, 8 and the memory growth of figure 10: commit-to-receiver latency at a steady rate.

The benchmark process commits one event per transaction on a fixed schedule and notes the time
just after each commit; the receiver notes when the POST arrived; latency is the difference
(one clock: both run on this machine). Each phase starts with a second of warm-up at the same
rate, sent and waited for but left out of the percentiles: the first events after the processes
start wait 80-140 ms for the first task (measured), and in figure 8's 2,400 samples those dozen
decided the p99 of either side, and so the ratio, by chance.
"""

from __future__ import annotations

from typing import Any

from services.config import Endpoint
from tests.benchmarks.deploy import config, deployed, endpoint
from tests.benchmarks.events import record_steady
from tests.benchmarks.measure import Sampler, percentile
from tests.benchmarks.receivers import ReceiverProcess, start_receiver, wait_for_count
from tests.benchmarks.run import Figure, Run, settle

RATE = 100.0
WORKERS = 2
WARM_UP_SECONDS = 1.0


def _latencies(committed: dict[str, float], receiver: ReceiverProcess) -> list[float]:
    ids, at = receiver.arrivals()
    first: dict[str, float] = {}
    for event_id, arrived in zip(ids, at, strict=True):
        first.setdefault(event_id, arrived)
    return [first[i] - t for i, t in committed.items() if i in first]


def _steady_phase(
    run: Run,
    name: str,
    cfg: dict[str, Any],
    healthy: ReceiverProcess,
    seconds: float,
    start: int,
) -> tuple[list[float], int, Sampler]:
    dsn = run.stack.database(name)
    healthy.reset()
    targets = [Endpoint(e["name"], e["url"]) for e in cfg["webhook"]["endpoints"]]
    with deployed(run.stack, dsn, run.logs(name), cfg, workers=WORKERS) as deployment:
        sampler = Sampler(deployment.pids(), interval=0.5).start()
        committed = record_steady(dsn, targets, RATE, WARM_UP_SECONDS + seconds, start=start)
        wait_for_count([healthy], len(committed), timeout=15)
        sampler.stop()
    measured = dict(list(committed.items())[int(RATE * WARM_UP_SECONDS) :])
    latencies = _latencies(measured, healthy)
    run.stack.drop(name)
    return latencies, len(measured), sampler


def figure_4(run: Run) -> Figure:
    seconds = run.size(60, 10)
    receiver = start_receiver()
    try:
        cfg = config([endpoint("default", receiver.url)])
        latencies, sent, sampler = _steady_phase(run, "f4", cfg, receiver, seconds, 0)
    finally:
        receiver.stop()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    run.plots["latency_ms"] = sorted(1000 * x for x in latencies)
    run.plots["memory_series"] = {
        k: v for k, v in sampler.rss.items() if k.split(":")[0] in ("relay", "worker")
    }
    growth = {kind: _growth(sampler, kind, seconds) for kind in ("relay", "worker")}
    run.plots["memory_growth"] = growth
    met = p50 <= 0.005 and p99 <= 0.025 and len(latencies) == sent
    return run.add(
        Figure(
            4,
            "latency commit -> receiver",
            f"p50 {1000 * p50:.1f} ms, p99 {1000 * p99:.1f} ms",
            "p50 <= 5 ms, p99 <= 25 ms",
            met,
            {
                "rate": RATE,
                "seconds": seconds,
                "sent": sent,
                "received": len(latencies),
                "p50_ms": 1000 * p50,
                "p90_ms": 1000 * percentile(latencies, 90),
                "p99_ms": 1000 * p99,
                "max_ms": 1000 * max(latencies, default=float("nan")),
            },
        )
    )


def _growth(sampler: Sampler, kind: str, seconds: float) -> dict[str, float]:
    """RSS from seconds 5-10 (after warm-up) to the last 5 seconds of the steady load."""
    early = sampler.rss_at(kind, min(5.0, seconds / 4), 5.0)
    late = sampler.rss_at(kind, max(0.0, sampler.wall - 5.0), 5.0)
    return {"early_mib": early, "late_mib": late, "growth": late / early - 1 if early else 0.0}


def figure_8(run: Run) -> Figure:
    seconds = run.size(12, 5)
    rounds = run.size(2, 1)
    healthy = start_receiver()
    hole = start_receiver(black_hole=True)
    alone: list[float] = []
    beside: list[float] = []
    lost = 0
    try:
        only = config([endpoint("healthy", healthy.url)])
        both = config([endpoint("healthy", healthy.url), endpoint("black-hole", hole.url)])
        for index in range(rounds):
            start = index * 10_000
            for label, cfg, into in (("alone", only, alone), ("hole", both, beside)):
                found, sent, _ = _steady_phase(
                    run, f"f8_{label}_{index}", cfg, healthy, seconds, start
                )
                into.extend(found)
                lost += sent - len(found)
                settle(0.5)
    finally:
        healthy.stop()
        hole.stop()
    p99_alone, p99_beside = percentile(alone, 99), percentile(beside, 99)
    ratio = p99_beside / p99_alone
    return run.add(
        Figure(
            8,
            "isolation (black-holed 2nd endpoint)",
            f"p99 {1000 * p99_beside:.1f} ms vs {1000 * p99_alone:.1f} ms alone ({ratio:.2f}x)",
            "<= 2x",
            ratio <= 2.0 and lost == 0,
            {
                "p99_alone_ms": 1000 * p99_alone,
                "p99_with_black_hole_ms": 1000 * p99_beside,
                "p50_alone_ms": 1000 * percentile(alone, 50),
                "p50_with_black_hole_ms": 1000 * percentile(beside, 50),
                "ratio": ratio,
                "seconds_per_phase": seconds,
                "rounds": rounds,
                "not_received": lost,
            },
        )
    )
