"""Celery Flower with its Prometheus `/metrics` behind the same basic auth as every other page.

Flower 2 serves `/metrics` (task names and counts, worker host names) and `/healthcheck` to
anyone. `/metrics` is put behind the login here. `/healthcheck` stays open on purpose: it answers
a constant "OK" and nothing else, and orchestrator probes (a Kubernetes httpGet, the compose
healthcheck) cannot carry a secret (SECURITY.md).

Run as `python -m workers.flower_server -A workers.app flower ...` (what `wg-webhooks
flower` executes): `workers.celery_main` with the handler protected first.
"""

from __future__ import annotations

from typing import Any

PROTECTED = ("Metrics",)


def protect_monitoring_routes() -> None:
    """Wrap the GET of each PROTECTED Flower handler in Flower's own login check."""
    from flower.views import monitor
    from tornado import web

    for name in PROTECTED:
        handler: Any = getattr(monitor, name)
        if not getattr(handler.get, "_wg_webhooks", False):
            handler.get = web.authenticated(handler.get)
            handler.get._wg_webhooks = True


def main() -> None:
    protect_monitoring_routes()
    from workers.celery_main import main as celery_main

    celery_main()  # Celery's command line with our logging (the arguments as given)


if __name__ == "__main__":
    main()
