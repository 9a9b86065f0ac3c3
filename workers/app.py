"""The Celery app and the settings the delivery guarantees depend on (DESIGN §6).

Retry timing lives in Postgres, never in countdown/ETA messages; Redis only carries "attempt
these leased deliveries now", so it may be flushed at any time without losing anything.

The lease in Postgres is the acknowledgement, not the Redis message: a task spends the lease
token on start and records every outcome in Postgres; a lease whose task never finished expires
and the relay hands its rows out again. So messages are acknowledged on receipt
(`task_acks_late=False`, a deviation from DESIGN §6): with late acks, every Redis restart left
the threads pool's running tasks un-acked, which Celery then tried to cancel (a
NotImplementedError traceback per task: the threads pool cannot cancel) and to give back
through a closed transport (see `workers.broker_loss`). A late ack bought
nothing here: the visibility timeout is an hour, the lease expires in seconds.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from celery import Celery
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutting_down,
)

from services.config import ConfigError, Settings
from services.embedded import broker_url, socket_password_from_connection
from workers import broker_loss, runtime
from workers.leases import longest_task_seconds

QUEUE = "webhooks"


def _settings() -> Settings | None:
    try:
        return runtime.settings_from_environment()
    except ConfigError:
        return None  # the CLI validated the config before it started us; Celery's own CLI may not


def make_app() -> Celery:
    settings = _settings()
    broker = (settings.redis_url if settings else "") or os.environ.get("REDIS_URL", "")
    broker = broker or "redis://127.0.0.1:6379/0"
    app = Celery("wg-webhooks", broker=broker_url(broker, with_password=False))
    # a socket URL's password goes beside it: in the URL, Celery would send it in worker stats
    app.conf.broker_password = urlsplit(broker).password if broker.startswith("unix:") else None
    longest = longest_task_seconds(settings.webhook.endpoints if settings else ())
    app.conf.update(
        task_acks_late=False,  # the lease is the acknowledgement (see above)
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": max(3600.0, longest * 10)},
        task_time_limit=longest + 30,
        task_soft_time_limit=longest + 15,
        # As DESIGN §6 has it. It cancels only late-acked tasks (none here, so the threads
        # pool, which cannot cancel, is never asked to); False makes Celery print a
        # CPendingDeprecationWarning on every broker loss.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # SIGTERM is a warm shutdown: running tasks finish (each is bounded by the timeout).
        # A second signal starts the soft phase: tasks get this long before a cold stop, and
        # unacknowledged messages go back to Redis; their leases still hold.
        worker_soft_shutdown_timeout=longest,
        worker_enable_soft_shutdown_on_idle=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_pool_limit=10,
        # every task module: workers and Flower import them at start (this module imports
        # none, so that a task module can import the app)
        imports=("workers.tasks", "workers.operator_tasks"),
    )
    return app


broker_loss.apply()
socket_password_from_connection()
app = make_app()


@worker_process_init.connect
def _open_runtime(**_: object) -> None:
    runtime.current()


@worker_ready.connect
def _open_runtime_solo(sender: object = None, **_: object) -> None:
    runtime.pool_size = int(getattr(getattr(sender, "pool", None), "limit", 0) or 0)
    runtime.current()


@worker_process_shutdown.connect
def _close_runtime(**_: object) -> None:
    runtime.close()


@worker_shutting_down.connect
def _stop_bursts(**_: object) -> None:
    runtime.stopping.set()
