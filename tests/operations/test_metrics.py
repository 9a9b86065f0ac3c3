"""/metrics: Prometheus text that parses, with counters that move as deliveries happen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.api.prometheus import DeliveryCollector
from services.api.state import ApiState
from services.config import Settings
from services.db.pool import make_pool
from tests.operations.outbox_rows import deliveries_of, make_event, set_state
from tests.support.processes import Processes
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for
from workers.cleanup import run_cleanup

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(api: str) -> tuple[str, Samples]:
    answer = requests.get(f"{api}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.text, parse(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _flaky_then_ok() -> Callable[[Receiver, Received], Reply]:
    failed: set[str] = set()
    lock = threading.Lock()

    def behaviour(_: Receiver, request: Received) -> Reply:
        identifier = request.json()["identifier"]
        if identifier == "gone":
            return Reply(status=410)
        with lock:
            if identifier == "flaky" and identifier not in failed:
                failed.add(identifier)
                return Reply(status=503, body=b"busy")
        return Reply(status=200)

    return behaviour


def test_metrics_parse_and_the_counters_move_as_deliveries_happen(
    receiver_factory: Callable[..., Receiver],
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
) -> None:
    receiver = receiver_factory(_flaky_then_ok())
    config, settings = config_factory(
        {"url": receiver.url, "authentication": "Bearer very-secret-token"}
    )
    api = api_url_factory(settings)
    _, before = scrape(api)
    assert value(before, "wg_webhooks_deliveries_pending", endpoint="default") == 0
    assert value(before, "wg_webhooks_attempts_total", **_labels("delivered", "2xx")) == 0

    for name in ("a", "b", "c", "flaky", "gone"):
        make_event(database_url, settings.webhook.endpoints, name)
    _, waiting = scrape(api)
    assert value(waiting, "wg_webhooks_deliveries_pending", endpoint="default") == 5
    assert value(waiting, "wg_webhooks_oldest_pending_age_seconds", endpoint="default") > 0

    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status IN ('delivered', 'dead')"
            ).fetchone()
            == (5,)
        ),
        what="every delivery to finish",
    )
    text, after = scrape(api)

    assert value(after, "wg_webhooks_attempts_total", **_labels("delivered", "2xx")) == 4
    assert value(after, "wg_webhooks_attempts_total", **_labels("retry", "5xx")) == 1
    assert value(after, "wg_webhooks_attempts_total", **_labels("dead", "4xx")) == 1
    assert value(after, "wg_webhooks_delivery_latency_seconds_count", endpoint="default") == 4
    assert value(after, "wg_webhooks_delivery_latency_seconds_sum", endpoint="default") > 0
    assert (
        value(after, "wg_webhooks_delivery_latency_seconds_bucket", endpoint="default", le="+Inf")
        == 4
    )
    assert value(after, "wg_webhooks_relay_claim_batch_size_sum", endpoint="default") == 6
    assert value(after, "wg_webhooks_relay_claim_batch_size_count", endpoint="default") >= 2
    assert value(after, "wg_webhooks_deliveries_pending", endpoint="default") == 0
    assert value(after, "wg_webhooks_deliveries_dead", endpoint="default") == 1
    assert value(after, "wg_webhooks_oldest_pending_age_seconds", endpoint="default") == 0
    assert value(after, "wg_webhooks_endpoint_disabled", endpoint="default") == 0
    assert "very-secret-token" not in text and str(receiver.port) not in text


def _labels(outcome: str, status_class: str) -> dict[str, str]:
    return {"endpoint": "default", "outcome": outcome, "status_class": status_class}


def test_counters_never_go_down_when_retention_deletes_counted_rows(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    pool = make_pool(database_url, min_size=1, max_size=2)
    pool.open(wait=True)
    try:
        registry = CollectorRegistry()
        state = ApiState(settings, pool)
        registry.register(DeliveryCollector(lambda: state, settle_seconds=0))
        assert value(parse(generate_latest(registry).decode()), "wg_webhooks_attempts_total") == 0

        (delivery,) = deliveries_of(
            db, make_event(database_url, settings.webhook.endpoints, "alice")
        ).values()
        db.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code,"
            " outcome) VALUES (%s, now(), 5, 200, 'delivered')",
            (delivery,),
        )
        set_state(db, delivery, "delivered", ago_seconds=40 * 86400)
        counted = parse(generate_latest(registry).decode())
        with psycopg.connect(database_url, autocommit=True) as conn:
            assert run_cleanup(conn, settings)["delivered"] == 1
        after = parse(generate_latest(registry).decode())
    finally:
        pool.close()
    delivered = _labels("delivered", "2xx")
    assert value(counted, "wg_webhooks_attempts_total", **delivered) == 1
    assert value(after, "wg_webhooks_attempts_total", **delivered) == 1
