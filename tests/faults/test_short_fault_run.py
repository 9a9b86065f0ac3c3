"""The fault run, short: 1,000 API changes while a worker, a relay, Redis (killed once, flushed
once), Postgres and the collector are broken once each, against misbehaving receivers.

`make faults` is the full run (20,000 changes, more faults); this is its CI version. One run
serves both tests: the guarantees (nothing lost, order, no stuck lease) and clean logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.processes import ROOT

SEED = 20261126


@dataclass(frozen=True)
class Run:
    counts: dict[str, Any]
    failures: list[str]
    output: str

    def explain(self) -> str:
        return "\n".join(
            ["failures:", *self.failures, "counts:", json.dumps(self.counts, indent=1)]
        )


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    summary = tmp_path_factory.mktemp("faults") / "summary.json"
    run = subprocess.Popen(
        [sys.executable, "-m", "tests.faults", "--short", "--seed", str(SEED),
         "--json", str(summary)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output, _ = run.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        run.terminate()  # SIGTERM: the run stops every process it started
        output, _ = run.communicate(timeout=60)
    assert summary.exists(), output[-8000:]
    result = json.loads(summary.read_text())
    return Run(result["counts"], result["failures"], output)


def test_short_fault_run_loses_nothing(short_run: Run) -> None:
    counts = short_run.counts
    assert counts["deliveries by status"] == {"delivered": counts["deliveries expected"]}, (
        short_run.explain()
    )
    assert counts["lost (never answered 2xx by the receiver)"] == 0, short_run.explain()
    assert counts["order violations"] == 0, short_run.explain()
    assert counts["stuck leased"] == 0, short_run.explain()
    assert counts["API failures"] == {}, short_run.explain()
    assert counts["longest stored response body (bytes)"] <= 4096
    assert counts["faults applied"] == {
        "collector_kill": 1,
        "postgres_restart": 1,
        "redis_flush": 1,
        "redis_kill": 1,
        "relay_kill": 1,
        "worker_kill": 1,
    }
    guarantees = [f for f in short_run.failures if not _is_log_or_crash(f)]
    assert guarantees == [], short_run.explain()


def test_short_fault_run_logs_no_unhandled_exception_and_nothing_crashes(short_run: Run) -> None:
    assert short_run.counts["unhandled exceptions in logs"] == 0, short_run.explain()
    assert short_run.counts["processes that crashed (restarted as a supervisor would)"] == 0


def _is_log_or_crash(failure: str) -> bool:
    return failure.startswith(("unhandled exception in ", "processes crashed: "))
