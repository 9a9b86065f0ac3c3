from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.config import Settings
from tests.support.processes import Processes

Stack = Callable[..., tuple[Settings, Processes]]


@pytest.fixture
def start_stack(
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
) -> Stack:
    """Real relay and Celery worker processes on the test's Postgres and Redis."""

    def start(
        webhook: dict[str, Any], workers: int = 1, relays: int = 1
    ) -> tuple[Settings, Processes]:
        path, settings = config_factory(webhook)
        procs = processes_factory(path)
        for _ in range(workers):
            procs.worker()
        for _ in range(relays):
            procs.relay()
        return settings, procs

    return start
