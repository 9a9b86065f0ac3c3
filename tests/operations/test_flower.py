"""Re-driving through a real Celery Flower: its API runs the operator tasks, behind basic auth."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.config import Settings
from services.embedded import free_port
from tests.operations.outbox_rows import deliveries_of, make_event, set_state, status_of
from tests.support.events import webhook_ids
from tests.support.processes import Proc, Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for

FLOWER_AUTH = ("ops", "flower-test-pass")


def _start_flower(procs: Processes, port: int) -> tuple[Proc, str]:
    flower = procs.start("flower")
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert flower.alive(), f"flower exited:\n{flower.log()[-3000:]}"
        try:
            return requests.get(f"{url}/healthcheck", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(up, timeout=60, what="Flower to listen")

    def hears_workers() -> bool:
        # Flower learns of tasks from events only: once a worker's heartbeat event has reached
        # it, the task events of what the test runs next will too.
        metrics = requests.get(f"{url}/metrics", auth=FLOWER_AUTH, timeout=5).text
        return any(
            line.startswith("flower_worker_online{") and line.endswith(" 1.0")
            for line in metrics.splitlines()
        )

    wait_for(hears_workers, timeout=60, interval=0.2, what="Flower to receive worker events")
    return flower, url


@pytest.fixture
def flower_config(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> Callable[[str], tuple[Path, Settings, int]]:
    def make(receiver_url: str) -> tuple[Path, Settings, int]:
        port = free_port()
        config, settings = config_factory(
            {"url": receiver_url},
            flower={"listening_address": f"127.0.0.1:{port}", "basic_auth": ":".join(FLOWER_AUTH)},
        )
        return config, settings, port

    return make


def _task_info(url: str, task_id: str) -> dict[str, Any] | None:
    answer = requests.get(f"{url}/api/task/info/{task_id}", auth=FLOWER_AUTH, timeout=5)
    if answer.status_code != 200:
        return None
    info: dict[str, Any] = answer.json()
    return info if info.get("state") in ("SUCCESS", "FAILURE") else None


def test_a_dead_delivery_redriven_through_flower_arrives_at_the_receiver(
    receiver_factory: Callable[..., Receiver],
    database_url: str,
    db: psycopg.Connection[Any],
    flower_config: Callable[[str], tuple[Path, Settings, int]],
    processes_factory: Callable[[Path], Processes],
) -> None:
    healthy = threading.Event()
    receiver = receiver_factory(
        lambda _r, _q: Reply(200) if healthy.is_set() else Reply(500, body=b"down")
    )
    config, settings, port = flower_config(receiver.url)
    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    _, flower = _start_flower(procs, port)
    event_id = make_event(database_url, settings.webhook.endpoints, "alice")
    (delivery,) = deliveries_of(db, event_id).values()
    wait_for(lambda: status_of(db, delivery) == "dead", what="the delivery to die (500s)")
    failed_tries = receiver.count()

    anonymous = requests.post(
        f"{flower}/api/task/async-apply/webhooks.redeliver", json={"args": [delivery]}, timeout=10
    )
    assert anonymous.status_code == 401
    assert status_of(db, delivery) == "dead"

    healthy.set()
    answer = requests.post(
        f"{flower}/api/task/async-apply/webhooks.redeliver",
        json={"args": [delivery]},
        auth=FLOWER_AUTH,
        timeout=10,
    )

    assert answer.status_code == 200, answer.text
    wait_for(lambda: receiver.count() == failed_tries + 1, what="the re-driven webhook")
    redriven = receiver.requests[-1]
    assert redriven.headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]
    assert redriven.headers["webhook-id"] == webhook_ids(database_url, [event_id])[0]
    assert redriven.body == receiver.requests[0].body
    wait_for(lambda: status_of(db, delivery) == "delivered", what="the delivery recorded")
    info = wait_for(
        lambda: _task_info(flower, answer.json()["task-id"]), 60, what="Flower to see the task"
    )
    assert (info["name"], info["state"], info["result"]) == (
        "webhooks.redeliver",
        "SUCCESS",
        "'pending'",
    )


def test_flower_recover_counts_and_an_unknown_id_fails_the_task_with_its_message(
    receiver: Receiver,
    database_url: str,
    db: psycopg.Connection[Any],
    flower_config: Callable[[str], tuple[Path, Settings, int]],
    processes_factory: Callable[[Path], Processes],
) -> None:
    config, settings, port = flower_config("http://127.0.0.1:9/never-called")
    (dead,) = deliveries_of(
        db, make_event(database_url, settings.webhook.endpoints, "bob")
    ).values()
    set_state(db, dead, "dead", ago_seconds=3600)
    procs = processes_factory(config)
    procs.worker()  # no relay: what is re-driven stays pending for the assertion
    _, flower = _start_flower(procs, port)

    recovered = requests.post(
        f"{flower}/api/task/async-apply/webhooks.recover",
        json={"args": ["2h"], "kwargs": {"status": "dead"}},
        auth=FLOWER_AUTH,
        timeout=10,
    )
    unknown = requests.post(
        f"{flower}/api/task/async-apply/webhooks.redeliver",
        json={"args": [987654]},
        auth=FLOWER_AUTH,
        timeout=10,
    )

    assert recovered.status_code == 200 and unknown.status_code == 200
    done = wait_for(lambda: _task_info(flower, recovered.json()["task-id"]), what="recover")
    assert (done["state"], done["result"]) == ("SUCCESS", "1")
    assert status_of(db, dead) == "pending"
    failed = wait_for(lambda: _task_info(flower, unknown.json()["task-id"]), what="redeliver")
    assert failed["state"] == "FAILURE"
    assert "no delivery with id 987654" in failed["exception"]


def test_flower_metrics_need_the_login_and_the_healthcheck_says_only_ok(
    flower_config: Callable[[str], tuple[Path, Settings, int]],
    processes_factory: Callable[[Path], Processes],
) -> None:
    config, _, port = flower_config("http://127.0.0.1:9/never-called")
    procs = processes_factory(config)
    procs.worker()
    _, flower = _start_flower(procs, port)

    anonymous = requests.get(f"{flower}/metrics", timeout=10)
    wrong = requests.get(f"{flower}/metrics", auth=(FLOWER_AUTH[0], "wrong"), timeout=10)
    logged_in = requests.get(f"{flower}/metrics", auth=FLOWER_AUTH, timeout=10)
    health = requests.get(f"{flower}/healthcheck", timeout=10)

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert "flower_worker_online" not in anonymous.text
    assert wrong.status_code == 401
    assert logged_in.status_code == 200 and "flower_worker_online{" in logged_in.text
    # open on purpose (orchestrator probes carry no secret): a constant, nothing about workers
    assert (health.status_code, health.text) == (200, "OK")
