"""Per-process state of a Celery worker, for its tasks: the settings and the pool, opened on
first use (after a fork, in the child). The relay and the worker's entry point only read the
settings, through `settings_from_environment`."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from services.config import Settings, load_settings
from services.db.pool import make_pool
from services.endpoints.live import LiveEndpoints


@dataclass
class Runtime:
    settings: Settings
    pool: ConnectionPool[Connection[Any]]
    endpoints: LiveEndpoints  # the config's and the runtime ones, refreshed at each lease start


_lock = threading.Lock()
_runtime: Runtime | None = None
# Set when the worker begins a warm shutdown: running tasks stop leasing more (workers.drain)
# and finish what they have in flight.
stopping = threading.Event()
# The worker's pool size (its --concurrency), once it is ready: at most half of it may wait for
# an endpoint's next event (workers.drain), so idle endpoints never hold every thread.
pool_size = 0


def settings_from_environment() -> Settings:
    """The settings of this process: `WG_WEBHOOKS_CONFIG` + the environment (set by the CLI)."""
    return load_settings(os.environ.get("WG_WEBHOOKS_CONFIG") or None)


def current() -> Runtime:
    """This process's runtime, opened on first use (after a fork, in the child)."""
    global _runtime
    with _lock:
        if _runtime is None or _runtime_pid != os.getpid():
            _open()
        assert _runtime is not None
        return _runtime


_runtime_pid = 0


def _open() -> None:
    global _runtime, _runtime_pid
    settings = settings_from_environment()
    if not settings.database_dsn:
        raise RuntimeError("DATABASE_URL is not set (the CLI sets it when it starts a worker)")
    pool = make_pool(
        settings.database_dsn,
        min_size=1,
        max_size=8,
        name="wg-webhooks-worker",
        generic_plans=True,
    )
    pool.open(wait=True, timeout=30)
    _runtime = Runtime(settings, pool, LiveEndpoints(settings))
    _runtime_pid = os.getpid()


def close() -> None:
    global _runtime
    from workers.wakeup import wakeup  # its listener lives as long as the runtime

    with _lock:
        if _runtime is not None and _runtime_pid == os.getpid():
            _runtime.pool.close()
            wakeup.stop()
        _runtime = None
