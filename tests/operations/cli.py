"""Run the installed `wg-webhooks` console command the way an operator does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

WG_WEBHOOKS = Path(sys.executable).with_name("wg-webhooks")


def wg_webhooks(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`wg-webhooks --config CONFIG ARGS...` with the test's DATABASE_URL / REDIS_URL."""
    return subprocess.run(
        [str(WG_WEBHOOKS), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=dict(os.environ),
        check=False,
    )
