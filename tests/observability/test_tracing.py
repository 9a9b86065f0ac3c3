"""OpenTelemetry: one trace from `POST /api/v1/user/new` to every POST attempt of its webhook,
a retry's attempt linked to the same change, and `traceparent` sent only where enabled. The
API, the relay and the task run in this process, so an in-memory exporter sees every span."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services import tracing
from services.config import Settings
from services.embedded import free_port
from tests.support.processes import ROOT, Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for

pytest.importorskip("opentelemetry.sdk")  # the test extra installs it

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)


@pytest.fixture(scope="module")
def _provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """One global provider (OpenTelemetry allows one per process): FastAPI's own request span
    uses it, ours too while a test holds `spans`."""
    from opentelemetry import trace

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield provider, exporter
    exporter.shutdown()  # later tests in this process record nothing


@pytest.fixture
def spans(
    _provider: tuple[TracerProvider, InMemorySpanExporter],
) -> Iterator[InMemorySpanExporter]:
    provider, exporter = _provider
    exporter.clear()
    tracing.use(provider)
    yield exporter
    tracing.use(None)


def _deliver_in_this_process(settings: Settings, db: psycopg.Connection[Any]) -> None:
    """A relay whose publish runs the delivery task right here, until nothing is pending."""
    from workers import runtime, tasks
    from workers.relay import Relay

    relay = Relay(settings, publish=lambda claimed: tasks.deliver(claimed.ids, claimed.token))
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        wait_for(
            lambda: db.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            ).fetchone() == (0,),
            timeout=60,
            what="every delivery delivered",
        )  # fmt: skip
    finally:
        relay.stop()
        thread.join(30)
        runtime.close()


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[int]:
    by_id = {s.context.span_id: s for s in spans}
    found, parent = [], span.parent
    while parent is not None:
        found.append(parent.span_id)
        parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
    return found


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_one_trace_from_the_api_request_to_every_post_attempt(
    spans: InMemorySpanExporter,
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    monkeypatch: pytest.MonkeyPatch,
    db: psycopg.Connection[Any],
) -> None:
    traced = receiver_factory(lambda r, _q: Reply(503) if r.count() <= 1 else Reply(200))
    plain = receiver_factory()
    path, settings = config_factory(
        {"endpoints": [
            {"name": "traced", "url": traced.url, "propagate_trace": True,
             "authentication": "Bearer trace-test-SECRET"},
            {"name": "plain", "url": plain.url},
        ]}
    )  # fmt: skip
    monkeypatch.setenv("WG_WEBHOOKS_CONFIG", str(path))
    api = api_url_factory(settings)
    answer = requests.post(
        f"{api}/api/v1/user/new",
        json={"Identifier": "traced@example.com"},
        auth=("admin@wgportal.local", "test-admin-token"),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    _deliver_in_this_process(settings, db)

    finished = list(spans.get_finished_spans())
    (request,) = _named(finished, "POST /api/v1/user/new")
    (change,) = _named(finished, "outbox write")
    trace_id = request.context.trace_id
    assert change.context.trace_id == trace_id
    assert request.context.span_id in _ancestors(change, finished)  # FastAPI's spans between
    attempts = _named(finished, "webhook POST")
    by_endpoint = sorted(
        (a.attributes["wg_webhooks.endpoint"], a.attributes["wg_webhooks.attempt"],
         a.attributes["http.response.status_code"]) for a in attempts if a.attributes
    )  # fmt: skip
    assert by_endpoint == [("plain", 1, 200), ("traced", 1, 503), ("traced", 2, 200)]
    for attempt in attempts:  # the retry too: same trace, child of and linked to the change
        assert attempt.context.trace_id == trace_id
        assert attempt.parent is not None and attempt.parent.span_id == change.context.span_id
        assert [link.context.span_id for link in attempt.links] == [change.context.span_id]
        shown = repr(dict(attempt.attributes or {}))
        assert traced.url not in shown and plain.url not in shown and "SECRET" not in shown
    assert _named(finished, "relay claim")

    # traceparent: to the endpoint that asked for it, naming each attempt's span; not elsewhere
    sent = [r.headers.get("traceparent") or r.headers.get("Traceparent") for r in traced.requests]
    traced_spans = sorted(
        a.context.span_id for a in attempts
        if a.attributes and a.attributes["wg_webhooks.endpoint"] == "traced"
    )  # fmt: skip
    assert all(value is not None for value in sent)
    assert {v.split("-")[1] for v in sent if v} == {f"{trace_id:032x}"}
    assert sorted(int(v.split("-")[2], 16) for v in sent if v) == traced_spans
    assert all("traceparent" not in {k.lower() for k in r.headers} for r in plain.requests)
    stored = db.execute("SELECT trace_context FROM webhook_events").fetchone()
    assert stored is not None and stored[0].split("-")[1] == f"{trace_id:032x}"


_WITHOUT_THE_EXTRA = """
import importlib.abc, sys

EXTRA = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")

class NotInstalled(importlib.abc.MetaPathFinder):  # what the otel extra brings, missing
    def find_spec(self, name, path=None, target=None):
        if name.startswith(EXTRA):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
import services.api.app, services.outbox, services.cli.main, workers.tasks, workers.relay
from services import tracing
from services.config import load_settings
tracing.setup("api")  # OTEL_TRACES_EXPORTER=console is set: still off, and no error
with tracing.span("nothing") as span:
    assert span is None and tracing.current_traceparent() is None
services.api.app.create_app(load_settings(None, env={}), pool=object())
print(tracing.active(), sorted(m for m in sys.modules if m.startswith(EXTRA)))
"""


def test_without_the_otel_extra_tracing_is_off_and_everything_else_works() -> None:
    """(FastAPI itself depends on opentelemetry-api; the extra is the SDK, the exporter and the
    Celery instrumentation.)"""
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_EXTRA], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False []"


def test_with_otel_variables_set_a_process_traces_to_the_console() -> None:
    code = (
        "from services import tracing\n"
        "tracing.setup('api')\n"
        "with tracing.span('hello') as span: pass\n"
        "print(tracing.active())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("True")
    assert '"name": "hello"' in done.stdout  # the console exporter's JSON, at exit


def test_a_collector_round_is_a_span_and_its_events_are_its_children(
    spans: InMemorySpanExporter, database_url: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    from datetime import timedelta

    from services.collector.loop import CycleResult
    from services.db.pool import make_pool
    from tests.collector.conftest import ALICE, Host, Seen, add_interface, add_peer

    add_interface(db)
    add_peer(db, ALICE)
    pool = make_pool(database_url, min_size=1, max_size=2, name="tracing-test")
    pool.open(wait=True)
    try:
        host = Host(pool, tmp_path / "wg.dump")
        assert host.observe(Seen(ALICE, handshake=host.now - timedelta(seconds=7))) is (
            CycleResult.RECORDED
        )
    finally:
        pool.close()
    finished = list(spans.get_finished_spans())
    (round_,) = _named(finished, "collector round")
    (change,) = _named(finished, "outbox write")  # the connect event
    assert change.parent is not None and change.parent.span_id == round_.context.span_id
    stored = db.execute("SELECT trace_context FROM webhook_events").fetchone()
    assert stored is not None and stored[0].split("-")[2] == f"{change.context.span_id:016x}"


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed (one indented JSON object each)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find('{\n    "name"', at)) != -1:
        span, at = decoder.raw_decode(text, at)
        found.append(span)
    return found


def test_across_processes_the_task_and_every_attempt_join_the_traces(
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    monkeypatch: pytest.MonkeyPatch,
    db: psycopg.Connection[Any],
) -> None:
    """The real api, relay and worker with OTEL_TRACES_EXPORTER=console: the change's trace
    reaches the POST attempts through Postgres, the relay's through the Celery message."""
    receiver = receiver_factory(lambda r, _q: Reply(503) if r.count() <= 1 else Reply(200))
    api_port = free_port()
    path, _ = config_factory(
        {"endpoints": [{"name": "main", "url": receiver.url, "propagate_trace": True}]},
        web={"listening_address": f"127.0.0.1:{api_port}"},
    )
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    procs = processes_factory(path)
    api = procs.start("api")

    def listening() -> bool:
        assert api.alive(), api.log()[-3000:]
        try:
            return requests.get(f"http://127.0.0.1:{api_port}/healthz", timeout=2).ok
        except requests.ConnectionError:
            return False

    wait_for(listening, timeout=60, what="the API")
    procs.worker()
    procs.relay()
    answer = requests.post(
        f"http://127.0.0.1:{api_port}/api/v1/user/new",
        json={"Identifier": "otel@example.com"},
        auth=("admin@wgportal.local", "test-admin-token"),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    wait_for(
        lambda: db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
        ).fetchone() == (1,),
        timeout=60,
        what="the delivery after one 503",
    )  # fmt: skip
    procs.stop_all()  # the exporters flush at exit
    printed = {name: _console_spans(text) for name, text in procs.logs()}

    (request,) = [s for s in printed["api-0"] if s["name"] == "POST /api/v1/user/new"]
    change_trace = request["context"]["trace_id"]
    attempts = [s for s in printed["worker-0"] if s["name"] == "webhook POST"]
    assert sorted(a["attributes"]["wg_webhooks.attempt"] for a in attempts) == [1, 2]
    assert {a["context"]["trace_id"] for a in attempts} == {change_trace}
    sent = {r.headers.get("traceparent", "").split("-")[1] for r in receiver.requests}
    assert sent == {change_trace.removeprefix("0x")}
    # the Celery task runs in the trace of the relay's claim that published it
    claims = {s["context"]["trace_id"] for s in printed["relay-0"] if s["name"] == "relay claim"}
    tasks = [s for s in printed["worker-0"] if s["name"].startswith("run/webhooks.deliver")]
    assert len(tasks) == 2 and {t["context"]["trace_id"] for t in tasks} <= claims
