"""One fault run: start everything, load the API while breaking things, stop the faults, drain,
check. Bounded: every phase shares one deadline, and a run that cannot finish in time fails."""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.faults import verify
from tests.faults.chaos import Chaos, plan_faults
from tests.faults.load import ApiCounts, Caller, make_peers, run_clients, user_changes
from tests.faults.stack import ADMIN, TIMEOUT, Stack, Supervisor
from tests.faults.wg_dump import DumpWriter

FULL_FAULTS = {
    "worker_kill": 6,
    "relay_kill": 4,
    "redis_kill": 2,
    "redis_flush": 1,
    "postgres_restart": 1,
    "collector_kill": 3,
}
SHORT_FAULTS = {
    "worker_kill": 1,
    "relay_kill": 1,
    "redis_kill": 1,
    "redis_flush": 1,
    "postgres_restart": 1,
    "collector_kill": 1,
}


@dataclass
class Options:
    seed: int
    events: int = 20_000
    faults: dict[str, int] = field(default_factory=lambda: dict(FULL_FAULTS))
    budget: float = 300.0  # seconds for the whole run
    clients: int = 8
    peers: int = 12
    keep: bool = False  # keep the temp dir (logs, data) for a post-mortem


def run(options: Options, say: Callable[[str], None] = print) -> verify.Report:
    started = time.monotonic()
    deadline = started + options.budget
    rng = random.Random(options.seed)
    root = Path(tempfile.mkdtemp(prefix="wgw-faults-"))
    report = verify.Report()
    stack = Stack(root, options.seed)
    say(f"fault run: seed {options.seed}, {options.events} API changes, budget "
        f"{options.budget:.0f}s, data in {root}")  # fmt: skip
    try:
        stack.start()
        names = ", ".join(r.spec.name for r in stack.receivers)
        say(
            f"  started in {time.monotonic() - started:.1f}s: api, {stack.workers} workers, "
            f"{stack.relays} relays, receivers {names}"
        )
        _run_phases(stack, options, rng, deadline, report, say)
    except Exception as exc:
        report.fail(f"the run itself failed: {type(exc).__name__}: {exc}")
    finally:
        stack.stop()
        verify.check_logs(stack.logs(), report)
        report.counts["duration (s)"] = round(time.monotonic() - started, 1)
        if options.keep:
            say(f"  logs and data kept in {root}")
        elif report.failures:  # the logs tell what happened; the data would only fill /tmp
            shutil.rmtree(root / "postgres", ignore_errors=True)
            shutil.rmtree(root / "redis", ignore_errors=True)
            say(f"  logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _run_phases(
    stack: Stack,
    options: Options,
    rng: random.Random,
    deadline: float,
    report: verify.Report,
    say: Callable[[str], None],
) -> None:
    counts = ApiCounts()
    setup = Caller(stack.api_url, ADMIN, counts)
    interface, peers = make_peers(setup, options.peers)
    setup.close()
    writer = DumpWriter(stack.dump_file, interface, peers, random.Random(rng.random()))
    writer.write()
    writer.start()
    stack.start_collector()

    total = max(0, options.events - 1 - options.peers)
    plans = user_changes(total, options.clients, random.Random(rng.random()))
    done = [0]
    lock = threading.Lock()

    def progress() -> None:
        with lock:
            done[0] += 1

    stop_load = threading.Event()
    # the load may use the budget but what the drain needs: a lease to expire, some retries
    drain_reserve = max(20.0, options.budget / 6)
    load_started = time.monotonic()
    load_budget = max(1.0, deadline - load_started - drain_reserve)
    timer = threading.Timer(load_budget, stop_load.set)
    timer.daemon = True
    timer.start()

    def stage() -> float:
        # the share of the load done, or of its time budget if that is further along: on a
        # slow machine every planned fault still happens while the load runs
        return max(done[0] / max(1, total), (time.monotonic() - load_started) / load_budget)

    chaos = Chaos(stack, plan_faults(options.faults, rng), stage, rng, say)
    supervisor = Supervisor(stack)
    supervisor.start()
    chaos.start()
    run_clients(stack.api_url, ADMIN, plans, counts, progress, stop_load)
    timer.cancel()
    load_seconds = time.monotonic() - load_started
    say(f"  load done: {done[0]} changes in {load_seconds:.1f}s "
        f"({done[0] / max(load_seconds, 0.001):.0f}/s)")  # fmt: skip
    report.counts["API changes planned"] = total + 1 + options.peers
    if stop_load.is_set():
        # Not a failure: the run is bounded, and what was sent is checked all the same.
        say(f"  the budget cut the load short: {done[0]} of {total} user changes sent")
    chaos.finish()
    if chaos.error is not None:
        report.fail(f"a fault could not be applied: {chaos.error!r}")

    # Faults stopped: the collector finishes its cycle and stops, the receivers heal, every
    # component is back; then everything recorded must be delivered.
    writer.stop()
    if stack.redis.process is None:  # a Redis fault cut short
        stack.redis.start()
    for proc in stack.running("collector"):
        stack.end(proc, kill=False)
    for receiver in stack.receivers:
        receiver.control("heal")
    drained = _drain(stack.postgres.url, deadline, say)
    supervisor.stop()
    if not drained:
        report.fail("deliveries still open when the budget ran out")
    _collect(stack, counts, chaos, writer, report)


def _drain(url: str, deadline: float, say: Callable[[str], None]) -> bool:
    """Wait until no delivery is pending or leased (bounded by the run's deadline)."""
    last = ""
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'pending'),"
                " count(*) FILTER (WHERE status = 'leased') FROM webhook_deliveries"
            ).fetchone()
            assert row is not None
            if row == (0, 0):
                return True
            now = f"pending {row[0]}, leased {row[1]}"
            if time.monotonic() > deadline - 10:
                say(f"  drain: out of time with {now}")
                return False
            if now != last and int(time.monotonic()) % 5 == 0:
                say(f"  draining: {now}")
                last = now
            time.sleep(0.5)


def _collect(
    stack: Stack, counts: ApiCounts, chaos: Chaos, writer: DumpWriter, report: verify.Report
) -> None:
    received: dict[str, list[list[Any]]] = {}
    for receiver in stack.receivers:
        text = receiver.control("log")
        (stack.root / f"received-{receiver.spec.name}.jsonl").write_text(text)  # post-mortems
        received[receiver.spec.name] = verify.records_of(text)
    c = report.counts
    c["API changes answered 200"] = counts.ok
    c["API 503 with Retry-After (retried)"] = counts.retried_503
    c["API creates found committed on retry"] = counts.ambiguous
    c["API failures"] = dict(counts.failures)
    if counts.failures:
        report.fail(f"API callers saw failures: {dict(counts.failures)}: {counts.examples[:3]}")
    c["faults applied"] = dict(
        sorted({d.kind: sum(1 for x in chaos.done if x.kind == d.kind) for d in chaos.done}.items())
    )
    c["collector kills inside its transaction"] = sum(
        1 for d in chaos.done if d.kind == "collector_kill" and "inside" in d.detail
    )
    c["peer flips in the dump"] = writer.flips
    c["processes that crashed (restarted as a supervisor would)"] = len(stack.crashed)
    if stack.crashed:
        report.fail(f"processes crashed: {', '.join(stack.crashed)}")
    c["receiver answers by kind"] = {
        name: dict(sorted(Counter(r[4] for r in records).items()))
        for name, records in received.items()
    }
    with psycopg.connect(stack.postgres.url, autocommit=True) as conn:
        outbox = verify.load_outbox(conn)
        verify.check_deliveries(outbox, [r.spec.name for r in stack.receivers], received, report)
        verify.check_attempts(conn, TIMEOUT, report)
        api_events = conn.execute(
            "SELECT count(*) FROM webhook_events WHERE event IN ('create', 'update', 'delete')"
        ).fetchone()
    # Transactional: every change answered 200 has its event; a change retried after a 503
    # may have committed on its first try too (one more event than answers).
    made = api_events[0] if api_events else 0
    c["events of API changes"] = made
    if made < counts.ok + counts.ambiguous:
        report.fail(f"{counts.ok} API changes answered 200 but only {made} events were recorded")
    if made > counts.ok + counts.ambiguous + counts.retried_503:
        report.fail(f"{made} events recorded for {counts.ok} API changes answered 200")
