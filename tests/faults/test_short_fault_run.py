"""The fault run, short: 1,000 API changes while a worker, a relay, Redis (killed once, flushed
once), Postgres and the collector are broken once each, against misbehaving receivers.

`make faults` is the full run (20,000 changes, more faults); this is its CI version.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT


def test_short_fault_run_loses_nothing(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults", "--short", "--seed", "20261126",
         "--json", str(summary)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    result = json.loads(summary.read_text())
    counts = result["counts"]
    assert counts["deliveries by status"] == {"delivered": counts["deliveries expected"]}
    assert counts["lost (never answered 2xx by the receiver)"] == 0
    assert counts["order violations"] == 0
    assert counts["stuck leased"] == 0
    assert counts["faults applied"] == {
        "collector_kill": 1,
        "postgres_restart": 1,
        "redis_flush": 1,
        "redis_kill": 1,
        "relay_kill": 1,
        "worker_kill": 1,
    }
