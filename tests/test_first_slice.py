"""An admin creates a user over the REST API; the configured receiver gets the webhook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import requests

from services.config import Settings
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

ADMIN = ("admin@wgportal.local", "test-admin-token")


def test_user_create_reaches_the_receiver_with_envelope_and_headers(
    receiver: Receiver,
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    config, settings = config_factory(
        {"url": receiver.url, "authentication": "Basic dXNlcm5hbWU6cGFzc3dvcmQ="}
    )
    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    api = api_url_factory(settings)

    answer = requests.post(
        f"{api}/api/v1/user/new",
        json={
            "Identifier": "alice@example.com",
            "Email": "alice@example.com",
            "Firstname": "Alice",
        },
        auth=ADMIN,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["Identifier"] == "alice@example.com"

    wait_for(lambda: receiver.count() == 1, what="the webhook")
    request = receiver.requests[0]
    envelope = request.json()
    assert list(envelope) == ["event", "entity", "identifier", "payload"]
    assert envelope["event"] == "create"
    assert envelope["entity"] == "user"
    assert envelope["identifier"] == "alice@example.com"
    assert envelope["payload"]["Email"] == "alice@example.com"
    assert envelope["payload"]["Firstname"] == "Alice"
    assert "Lastname" not in envelope["payload"]  # omitempty
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Basic dXNlcm5hbWU6cGFzc3dvcmQ="
    assert request.headers["User-Agent"].startswith("wg-webhooks/")
    webhook_id = db.execute("SELECT webhook_id FROM webhook_events").fetchone()
    assert webhook_id is not None
    assert webhook_id[0].startswith("evt_")
    assert request.headers["webhook-id"] == webhook_id[0]
    assert request.headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in request.headers  # no signing_secret configured

    status = wait_for(
        lambda: (
            db.execute(
                "SELECT status, attempts, last_status_code FROM webhook_deliveries"
            ).fetchone()
            == ("delivered", 1, 200)
        ),
        what="the delivery to be recorded as delivered",
    )
    assert status
    attempts = db.execute("SELECT status_code, outcome FROM webhook_attempts").fetchall()
    assert attempts == [(200, "delivered")]


def test_api_refuses_without_admin_credentials_and_writes_nothing(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    no_auth = requests.post(f"{api}/api/v1/user/new", json={"Identifier": "x"}, timeout=10)
    wrong = requests.post(
        f"{api}/api/v1/user/new",
        json={"Identifier": "x"},
        auth=("admin@wgportal.local", "no"),
        timeout=10,
    )
    assert no_auth.status_code == 401
    assert no_auth.json() == {"Code": 401, "Message": "missing credentials"}
    assert wrong.status_code == 401
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM webhook_events").fetchone() == (0,)


def test_bad_field_is_a_400_naming_it_and_writes_nothing(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    api = api_url_factory(settings)
    answer = requests.post(
        f"{api}/api/v1/user/new",
        json={"Identifier": "bob", "Email": "not-an-address"},
        auth=ADMIN,
        timeout=10,
    )
    assert answer.status_code == 400
    assert "Email" in answer.json()["Message"]
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM webhook_events").fetchone() == (0,)
