"""What every figure shares: the servers, the sizes (full or quick), the results, and the drain
of a committed backlog through real relay and worker processes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.benchmarks.deploy import Deployment, config, deployed, endpoint, say
from tests.benchmarks.measure import Sampler, rate_between
from tests.benchmarks.receivers import ReceiverProcess, wait_for_count
from tests.benchmarks.stack import Stack

# The drain figures (2, 3, 7, 9) tune the one endpoint for throughput, as the README's scaling
# notes advise: four tasks of 100 in flight (two per worker process, one POSTing while the next
# waits). A worker process POSTs with at most 128 threads, so 2 processes have 256 requests in
# flight at most. The latency, isolation, write-cost and slow-receiver figures keep the
# defaults (max_in_flight 16, batch_size 50).
MAX_IN_FLIGHT = 400
BATCH_SIZE = 100


@dataclass
class Figure:
    number: int
    name: str
    measured: str
    target: str
    met: bool | None  # None: reported only
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    stack: Stack
    out: Path
    quick: bool
    figures: dict[int, Figure] = field(default_factory=dict)
    plots: dict[str, Any] = field(default_factory=dict)  # series for the PNG

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def logs(self, name: str) -> Path:
        path = self.out / "logs" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, figure: Figure) -> Figure:
        self.figures[figure.number] = figure
        return figure


def one_endpoint(url: str, **webhook: Any) -> dict[str, Any]:
    """The drain figures' config: one endpoint, tuned for throughput."""
    return config(
        [endpoint("default", url)], max_in_flight=MAX_IN_FLIGHT, batch_size=BATCH_SIZE, **webhook
    )


@dataclass
class Drain:
    delivered: int
    rate: float  # deliveries/s between the first and last arrival (or the given window)
    seconds: float
    arrivals: list[float]
    sampler: Sampler
    duplicates: int
    receiver_max_concurrent: int
    wal_bytes: int = 0  # Postgres WAL written during the drain (the whole cluster)
    redis_commands: int = 0  # commands Redis processed during the drain


def _wal_position(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    return int(row[0]) if row else 0


def _redis_commands(run: Run) -> int:
    import redis

    client = redis.Redis.from_url(run.stack.redis_url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


def drain(
    run: Run,
    name: str,
    dsn: str,
    cfg: dict[str, Any],
    receivers: list[ReceiverProcess],
    total: int,
    *,
    workers: int = 2,
    timeout: float = 120.0,
    window: tuple[int, int] | None = None,
    extra_pids: dict[str, list[int]] | None = None,
) -> Drain:
    """Start workers then the relay on a database holding a backlog; wait until the receivers
    saw `total` POSTs (or `timeout`); the rate between arrivals `window` (default: all)."""
    for receiver in receivers:
        receiver.reset()
    wal_before, redis_before = _wal_position(dsn), _redis_commands(run)
    with deployed(run.stack, dsn, run.logs(name), cfg, workers=workers) as deployment:
        sampler = Sampler(_pids(run, deployment, receivers, extra_pids)).start()
        seen = wait_for_count(receivers, total, timeout)
        sampler.stop()
        wal_bytes = _wal_position(dsn) - wal_before
        redis_commands = _redis_commands(run) - redis_before
    ids: list[str] = []
    arrivals: list[float] = []
    for receiver in receivers:
        more_ids, more_at = receiver.arrivals()
        ids += more_ids
        arrivals += more_at
    first, last = window or (0, min(seen, total) - 1)
    database = str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    if stats := run.stack.statement_stats(database):
        say(f"  {name}: statements\n{stats}")
    release_leases(dsn)
    return Drain(
        delivered=seen,
        rate=rate_between(arrivals, first, last),
        seconds=max(arrivals) - min(arrivals) if arrivals else float("nan"),
        arrivals=arrivals,
        sampler=sampler,
        duplicates=len(ids) - len(set(ids)),
        receiver_max_concurrent=max((r.max_in_flight() for r in receivers), default=0),
        wal_bytes=wal_bytes,
        redis_commands=redis_commands,
    )


def _pids(
    run: Run,
    deployment: Deployment,
    receivers: list[ReceiverProcess],
    extra: dict[str, list[int]] | None,
) -> dict[str, list[int]]:
    pids = deployment.pids()
    pids["postgres"] = run.stack.postgres_pids()
    redis_pid = run.stack.redis_pid()
    pids["redis"] = [redis_pid] if redis_pid else []
    pids["receiver"] = [r.pid for r in receivers]
    pids.update(extra or {})
    return pids


def release_leases(dsn: str) -> None:
    """Leases left by processes a phase killed: pending again (what reclaim does on expiry)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # the killed processes' backends may still be finishing a transaction on these rows
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', lease_token = NULL,"
            " lease_expires_at = NULL WHERE status = 'leased'"
        )


def settle(seconds: float = 1.0) -> None:
    """A pause between phases: the killed processes' sockets and backends go away."""
    time.sleep(seconds)
