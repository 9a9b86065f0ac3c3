"""/api/v1/webhooks/...: the operator routes over real HTTP, admin only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.config import Settings
from tests.operations.cli import wg_webhooks
from tests.operations.outbox_rows import (
    add_attempt,
    deliveries_of,
    make_event,
    set_state,
    status_of,
)
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

ADMIN = ("admin@wgportal.local", "test-admin-token")
BASE = "/api/v1/webhooks"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/deliveries"),
        ("GET", "/deliveries/1"),
        ("POST", "/deliveries/1/redeliver"),
        ("POST", "/recover"),
        ("GET", "/endpoints"),
        ("POST", "/endpoints/default/enable"),
    ],
)
def test_every_webhook_route_refuses_without_admin_credentials(
    method: str,
    path: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    answer = requests.request(method, f"{api}{BASE}{path}", json={"Since": "1h"}, timeout=10)
    wrong = requests.request(
        method, f"{api}{BASE}{path}", auth=(ADMIN[0], "wrong"), json={"Since": "1h"}, timeout=10
    )
    assert answer.status_code == 401
    assert answer.json() == {"Code": 401, "Message": "missing credentials"}
    assert wrong.status_code == 401


def test_list_filters_and_is_what_the_cli_prints_with_json(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    config, settings = config_factory(
        {"url": "http://127.0.0.1:9/a", "endpoints": [{"name": "b", "url": "http://127.0.0.1:9/b"}]}
    )
    api = api_url_factory(settings)
    alice = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "alice"))
    bob = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "bob", "delete"))
    set_state(db, alice["b"], "dead", ago_seconds=60, attempts=8)
    set_state(db, bob["default"], "dead", ago_seconds=3 * 86400, attempts=8)

    def listed(**params: Any) -> list[dict[str, Any]]:
        answer = requests.get(f"{api}{BASE}/deliveries", params=params, auth=ADMIN, timeout=10)
        assert answer.status_code == 200, answer.text
        body: list[dict[str, Any]] = answer.json()
        return body

    assert [d["Id"] for d in listed()] == sorted([*alice.values(), *bob.values()], reverse=True)
    assert [d["Id"] for d in listed(status="dead")] == [bob["default"], alice["b"]]
    assert [d["Id"] for d in listed(status="dead", since="24h")] == [alice["b"]]
    assert [d["Id"] for d in listed(endpoint="b", identifier="bob")] == [bob["b"]]
    assert [d["Id"] for d in listed(entity="peer")] == []
    assert len(listed(limit=1)) == 1

    dead = listed(status="dead")
    cli = wg_webhooks(config, "deliveries", "list", "--status", "dead", "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == dead
    assert dead[1] == {
        **dead[1],
        "Endpoint": "b",
        "Event": "create",
        "Entity": "user",
        "Identifier": "alice",
        "Status": "dead",
        "Attempts": 8,
        "NextAttemptAt": None,
        "LastStatusCode": 500,
        "DeliveredAt": None,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since: 'yesterday' is not a duration"),
        ({"status": "gone"}, "status:"),
        ({"limit": "0"}, "limit:"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(
    params: dict[str, str],
    message: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    answer = requests.get(f"{api}{BASE}/deliveries", params=params, auth=ADMIN, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["Code"] == 400
    assert answer.json()["Message"].startswith(message)


def test_show_has_the_attempts_and_an_unknown_id_is_a_404(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    event_id = make_event(database_url, settings.webhook.endpoints, "alice")
    (delivery,) = deliveries_of(db, event_id).values()
    add_attempt(db, delivery, 500, "retry", body="boom", ago_seconds=5)
    add_attempt(db, delivery, 200, "delivered", body="thanks")
    set_state(db, delivery, "delivered", attempts=2)

    shown = requests.get(f"{api}{BASE}/deliveries/{delivery}", auth=ADMIN, timeout=10)
    missing = requests.get(f"{api}{BASE}/deliveries/999999", auth=ADMIN, timeout=10)

    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["Id"], body["EventId"], body["Status"], body["AttemptCount"]) == (
        delivery,
        event_id,
        "delivered",
        2,
    )
    assert [(a["StatusCode"], a["Outcome"], a["ResponseBody"]) for a in body["Attempts"]] == [
        (500, "retry", "boom"),
        (200, "delivered", "thanks"),
    ]
    assert missing.status_code == 404
    assert missing.json() == {"Code": 404, "Message": "no delivery with id 999999"}


def test_redeliver_of_a_delivered_event_reaches_the_receiver_again_with_the_same_webhook_id(
    receiver: Receiver,
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
) -> None:
    config, settings = config_factory({"url": receiver.url})
    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    api = api_url_factory(settings)
    (delivery,) = deliveries_of(
        db, make_event(database_url, settings.webhook.endpoints, "alice")
    ).values()
    wait_for(lambda: status_of(db, delivery) == "delivered", what="the first delivery")

    answer = requests.post(f"{api}{BASE}/deliveries/{delivery}/redeliver", auth=ADMIN, timeout=10)

    assert answer.status_code == 200, answer.text
    assert (answer.json()["Id"], answer.json()["Status"]) == (delivery, "pending")
    wait_for(lambda: receiver.count() == 2, what="the re-driven webhook")
    first, second = receiver.requests
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    wait_for(lambda: status_of(db, delivery) == "delivered", what="the re-delivery recorded")
    missing = requests.post(f"{api}{BASE}/deliveries/424242/redeliver", auth=ADMIN, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"Code": 404, "Message": "no delivery with id 424242"}


def test_recover_redrives_the_window_given_in_the_body(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    recent, old, delivered = (
        deliveries_of(db, make_event(database_url, settings.webhook.endpoints, n))["default"]
        for n in ("recent", "old", "delivered")
    )
    set_state(db, recent, "dead", ago_seconds=3600)
    set_state(db, old, "dead", ago_seconds=2 * 86400)
    set_state(db, delivered, "delivered", ago_seconds=60)

    answer = requests.post(
        f"{api}{BASE}/recover",
        json={"Since": "24h", "Endpoint": None, "Status": "dead"},
        auth=ADMIN,
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"Count": 1, "Since": "24h", "Endpoint": None, "Status": "dead"}
    assert [status_of(db, d) for d in (recent, old, delivered)] == ["pending", "dead", "delivered"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Since": "soon"}, "Since: 'soon' is not a duration"),
        ({"Since": "1h", "Endpoint": "nope"}, "Endpoint: 'nope' is not configured"),
        ({"Since": "1h", "Status": "gone"}, "Status:"),
        ({"Since": "1h", "Extra": 1}, "Extra: unknown field"),
        ({}, "Since: is required"),
    ],
)
def test_a_bad_recover_body_is_a_400_naming_the_field(
    body: dict[str, Any],
    message: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    answer = requests.post(f"{api}{BASE}/recover", json=body, auth=ADMIN, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["Message"].startswith(message)


def test_a_disabled_endpoint_holds_its_deliveries_until_enabled_through_the_api(
    receiver: Receiver,
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
) -> None:
    config, settings = config_factory({"url": receiver.url})
    db.execute(
        "INSERT INTO webhook_endpoints (name, disabled_at, disabled_reason, failing_since)"
        " VALUES ('default', now(), 'nothing but failures for 120h', now() - interval '6 days')"
    )
    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    api = api_url_factory(settings)
    (delivery,) = deliveries_of(
        db, make_event(database_url, settings.webhook.endpoints, "alice")
    ).values()

    listed = requests.get(f"{api}{BASE}/endpoints", auth=ADMIN, timeout=10)
    assert listed.status_code == 200, listed.text
    (endpoint,) = listed.json()
    assert (endpoint["Name"], endpoint["Enabled"], endpoint["Pending"]) == ("default", False, 1)
    assert endpoint["Url"] == receiver.url
    assert endpoint["DisabledReason"] == "nothing but failures for 120h"
    assert status_of(db, delivery) == "pending" and receiver.count() == 0

    enabled = requests.post(f"{api}{BASE}/endpoints/default/enable", auth=ADMIN, timeout=10)

    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["Enabled"], enabled.json()["FailingSince"]) == (True, None)
    wait_for(lambda: receiver.count() == 1, what="the held delivery after enable")
    unknown = requests.post(f"{api}{BASE}/endpoints/nope/enable", auth=ADMIN, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json() == {
        "Code": 404,
        "Message": "no endpoint named 'nope' (configured: default)",
    }


def test_the_openapi_document_lists_the_webhook_routes(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    paths = requests.get(f"{api}/openapi.json", timeout=10).json()["paths"]
    assert {p for p in paths if p.startswith(BASE)} == {
        f"{BASE}/deliveries",
        f"{BASE}/deliveries/{{delivery_id}}",
        f"{BASE}/deliveries/{{delivery_id}}/redeliver",
        f"{BASE}/recover",
        f"{BASE}/endpoints",
        f"{BASE}/endpoints/{{name}}",
        f"{BASE}/endpoints/{{name}}/enable",
        f"{BASE}/endpoints/{{name}}/rotate-secret",
    }
