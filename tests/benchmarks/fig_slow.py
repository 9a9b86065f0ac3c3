"""Figure 11: ten endpoints whose receivers answer after 100 ms; 20,000 events spread over them.

Throughput is then bounded by concurrency (each endpoint's max_in_flight, left at its
default), not by CPU: 10 endpoints x 16 in flight / 0.1 s = 1,600/s at most; the target is
80% of that.
"""

from __future__ import annotations

import time

from services.config import Endpoint
from tests.benchmarks.deploy import config, endpoint
from tests.benchmarks.events import record_many
from tests.benchmarks.measure import timeline
from tests.benchmarks.receivers import start_receiver
from tests.benchmarks.run import Figure, Run, drain

ENDPOINTS = 10
DELAY_MS = 100.0


def figure_11(run: Run) -> Figure:
    total = run.size(20_000, 3_000)
    receivers = [start_receiver(delay_ms=DELAY_MS) for _ in range(ENDPOINTS)]
    try:
        targets = [Endpoint(f"slow{i}", r.url) for i, r in enumerate(receivers)]
        dsn = run.stack.database("f11")
        began = time.monotonic()
        record_many(dsn, total, lambda i: [targets[i % ENDPOINTS]])
        recorded = time.monotonic() - began
        cfg = config([endpoint(e.name, e.url) for e in targets])
        result = drain(run, "f11", dsn, cfg, receivers, total, timeout=180)
    finally:
        for receiver in receivers:
            receiver.stop()
    run.plots["throughput_slow"] = timeline(result.arrivals, min(result.arrivals, default=0))
    return run.add(
        Figure(
            11,
            "10 slow receivers (100 ms)",
            f"{result.rate:,.0f} deliveries/s",
            ">= 1,300/s",
            result.rate >= 1300,
            {
                "events": total,
                "delivered": result.delivered,
                "rate": result.rate,
                "endpoints": ENDPOINTS,
                "delay_ms": DELAY_MS,
                "max_in_flight": 16,
                "receiver_max_concurrent": result.receiver_max_concurrent,
                "record_seconds": recorded,
                "cpu_seconds": result.sampler.cpu,
                "cpu_ms_per_delivery": {
                    k: 1000 * v / max(1, total) for k, v in result.sampler.cpu.items()
                },
                "wal_bytes_per_delivery": result.wal_bytes / max(1, total),
                "redis_commands_per_delivery": result.redis_commands / max(1, total),
            },
        )
    )
