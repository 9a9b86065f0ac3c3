"""`wg_webhooks_http_request_duration_seconds{method, route, status}`: every API request timed.

`route` is the route's template (`/api/v1/user/by-id/{id:path}`), never the path itself: a label per
identifier would grow without bound (and could carry what a client typed). Requests no route
matched share `route="(unmatched)"`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "(unmatched)"


def request_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "wg_webhooks_http_request_duration_seconds",
        "Time the API took to answer a request, by route template",
        ["method", "route", "status"],
        registry=registry,
    )


class RequestTiming:
    """Pure ASGI middleware: the time from the request to the end of the response."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.histogram.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - began
            )
