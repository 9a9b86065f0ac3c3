"""OpenTelemetry spans, when the `otel` extra is installed and tracing is configured.

`setup()` (each process, at start) turns tracing on when the standard OTEL_* environment asks
for an exporter (`OTEL_TRACES_EXPORTER`, or `OTEL_EXPORTER_OTLP_ENDPOINT` for OTLP) and the
packages are installed; `use(provider)` does it with a given provider (tests). Until then every
function here is a no-op that imports nothing of OpenTelemetry.

The API request's span is FastAPI's own (its native telemetry, on once a global tracer provider
is set); the spans here are the outbox write, the relay's claim, the collector's round and each
POST attempt, and Celery's through opentelemetry-instrumentation-celery.

A change's trace context is kept with its event in Postgres (`webhook_events.trace_context`, a
W3C traceparent): each POST attempt of the event's deliveries is a child of the change's span
and links to it, whichever process, and however much later, it runs in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_tracer: Any = None  # an opentelemetry Tracer once tracing is on
NAME = "wg-webhooks"


def active() -> bool:
    return _tracer is not None


def use(provider: Any) -> None:
    """Trace through `provider` (an opentelemetry TracerProvider) from now on; None: stop."""
    global _tracer
    _tracer = provider.get_tracer(NAME) if provider is not None else None


def setup(service: str) -> None:
    """Turn tracing on for this process if OTEL_* asks for it and the `otel` extra is there."""
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "")
    if exporter_name == "none" or not (
        exporter_name or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        return
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        return  # the extra is not installed: no tracing
    exporter: Any
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    attributes = {"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"wg-webhooks-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    use(provider)
    if service in ("worker", "relay"):  # the task message carries the relay's context
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]


def _context_of(traceparent: str | None) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": traceparent or ""})


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (None when not tracing)."""
    if _tracer is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: str = "INTERNAL",
    caused_by: str | None = None,
    start_ns: int | None = None,
) -> Iterator[Any]:
    """A span (None when not tracing). With `caused_by` (a stored traceparent) the span is a
    child of that change's span and links to it."""
    if _tracer is None:
        yield None
        return
    from opentelemetry import trace

    context = _context_of(caused_by) if caused_by else None
    links = []
    if context is not None:
        linked = trace.get_current_span(context).get_span_context()
        if linked.is_valid:
            links.append(trace.Link(linked, {"wg_webhooks.link": "caused by"}))
    with _tracer.start_as_current_span(
        name,
        context=context,
        kind=getattr(trace.SpanKind, kind),
        attributes=dict(attributes or {}),
        links=links,
        start_time=start_ns,
    ) as current:
        yield current


def now_ns() -> int:
    return time.time_ns()
