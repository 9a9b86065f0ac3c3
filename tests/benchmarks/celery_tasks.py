"""Tasks the benchmark adds to the project's own Celery app (same settings, same worker command:
`wg-webhooks worker --include tests.benchmarks.celery_tasks`).

- `bench.noop`: an empty task, for Celery's own ceiling under the project's settings.
- `bench.naive_deliver`: the common Celery webhook recipe, the baseline the design is measured
  against: one task per event, enqueued with `.delay(envelope)` after the commit, POSTed with
  `requests`, retried by Celery itself (`autoretry_for` + `retry_backoff`), no state anywhere
  else. It gets a keep-alive `requests.Session` per thread, its best case (the recipe usually
  calls `requests.post`, a new connection per event).
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from workers import runtime
from workers.app import app

_local = threading.local()
_url: list[str] = []


# Celery ships no type hints: its task decorator is untyped (as in workers/tasks.py).
@app.task(name="bench.noop", ignore_result=True)  # type: ignore[untyped-decorator]
def noop() -> None:
    return None


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _endpoint_url() -> str:
    if not _url:
        _url.append(runtime.settings_from_environment().webhook.endpoints[0].url)
    return _url[0]


@app.task(  # type: ignore[untyped-decorator]
    name="bench.naive_deliver",
    bind=True,
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=7,
    ignore_result=True,
)
def naive_deliver(self: Any, envelope: str) -> None:
    response = _session().post(
        _endpoint_url(),
        data=envelope.encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
