"""Figure 15: time to recover. A steady load to 3 endpoints (receivers answering after 100 ms),
every worker SIGKILLed mid-POST and Redis flushed at once, one new worker started: the seconds
until every delivery is delivered (in flight, queued or pending at the kill, and the last
events of the load, which goes on for 2 s after it), with the default lease settings.
Duplicates are 2xx answers beyond the first per webhook-id.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg

from services.config import Endpoint
from tests.benchmarks.deploy import config, deployed, endpoint
from tests.benchmarks.events import record_steady
from tests.benchmarks.receivers import start_receiver
from tests.benchmarks.run import Figure, Run

RATE = 50.0  # events/s, one per transaction, each to all 3 endpoints: 150 deliveries/s
ENDPOINTS = 3
DELAY_MS = 100.0
TARGET = 15.0


def _open(dsn: str) -> tuple[int, int]:
    """(deliveries not yet delivered, deliveries leased by a started task)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status <> 'delivered'),"
            " count(*) FILTER (WHERE status = 'leased' AND lease_started)"
            " FROM webhook_deliveries"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def figure_15(run: Run) -> Figure:
    load_seconds = run.size(10, 4)
    receivers = [start_receiver(delay_ms=DELAY_MS) for _ in range(ENDPOINTS)]
    try:
        targets = [Endpoint(f"ep{i}", r.url) for i, r in enumerate(receivers)]
        dsn = run.stack.database("f15")
        cfg = config([endpoint(e.name, e.url) for e in targets])  # default leases and timeout
        with deployed(run.stack, dsn, run.logs("f15"), cfg, workers=2) as deployment:
            producer = threading.Thread(
                target=record_steady, args=(dsn, targets, RATE, load_seconds), daemon=True
            )
            producer.start()
            time.sleep(load_seconds - 2)  # the kill lands while events still come in
            _, in_flight = _open(dsn)
            began = time.monotonic()
            for worker in deployment.workers:
                worker.kill()
            run.stack.flush_redis()
            new_worker = deployment.procs.start("worker")
            deployment.workers = [new_worker]
            producer.join(60)
            deadline = began + 120
            left, ready = _open(dsn)[0], None
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = _open(dsn)[0]
                if ready is None and " ready." in new_worker.log():
                    ready = time.monotonic() - began
            recovered = time.monotonic() - began
        # per receiver: every endpoint gets each event once, with the same webhook-id
        duplicates = sum(n - 1 for r in receivers for n in Counter(r.arrivals()[0]).values())
    finally:
        for receiver in receivers:
            receiver.stop()
    met = not left and recovered <= TARGET
    return run.add(
        Figure(
            15,
            "time to recover (all workers killed, Redis flushed)",
            f"{recovered:.1f} s" if not left else f"{left} not delivered after 120 s",
            f"<= {TARGET:.0f} s",
            met,
            {
                "seconds": recovered,
                "not_delivered": left,
                "in_flight_at_kill": in_flight,
                "duplicates": duplicates,
                "new_worker_ready_after": ready,
                "events_per_second": RATE,
                "load_seconds": load_seconds,
                "delay_ms": DELAY_MS,
            },
        )
    )
