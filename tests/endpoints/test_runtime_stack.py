"""Runtime endpoints on a running stack: two relays and two workers (real processes), the API,
and receivers on loopback. Changes made through the API reach every process without a
restart; a removed endpoint is never POSTed to again and keeps its deliveries."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

from services.config import Settings
from services.signing_keys import new_signing_key, new_signing_secret
from tests.support.events import record_events, statuses, webhook_ids
from tests.support.processes import Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for

ADMIN = ("admin@wgportal.local", "test-admin-token")
ROUTE = "/api/v1/webhooks/endpoints"
USER = ("create", "user", "alice", {"Identifier": "alice"})


@dataclass
class Stack:
    api: str
    settings: Settings
    database_url: str
    procs: Processes

    def call(self, method: str, path: str = "", body: Any = None) -> requests.Response:
        answer = requests.request(
            method, f"{self.api}{ROUTE}{path}", json=body, auth=ADMIN, timeout=10
        )
        assert answer.status_code < 300, answer.text
        return answer

    def record(self, *items: tuple[str, str, str, dict[str, Any]]) -> list[int]:
        return record_events(self.database_url, self.settings, items)


@pytest.fixture
def stack(
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Stack:
    # what a header value may name through the API; the workers read it from their environment
    monkeypatch.setenv("WG_WEBHOOKS_HEADER_TENANT", "tenant-value-3141")
    config, settings = config_factory()
    procs = processes_factory(config)
    for _ in range(2):
        procs.worker("--concurrency", "4")
    for _ in range(2):
        procs.relay()
    return Stack(api_url_factory(settings), settings, database_url, procs)


def _verifies(secret: str, request: Any) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except Exception:  # the package raises its own WebhookVerificationError
        return False
    return True


def test_an_endpoint_added_through_the_api_receives_the_next_event(
    stack: Stack, receiver: Receiver, db: psycopg.Connection[Any]
) -> None:
    stack.call("POST", body={"Name": "crm", "Url": receiver.url})
    added = time.time()
    (event_id,) = stack.record(USER)
    wait_for(lambda: receiver.count() == 1, timeout=30, what="the new endpoint's first webhook")
    latency = receiver.requests[0].at - added
    print(f"\nadded through the API -> event received: {latency * 1000:.0f} ms")
    assert [receiver.requests[0].headers["webhook-id"]] == webhook_ids(
        stack.database_url, [event_id]
    )
    wait_for(lambda: statuses(db) == {"delivered": 1}, what="the delivery recorded")
    # an event recorded before the endpoint existed was not fanned out to it
    assert db.execute("SELECT endpoint FROM webhook_deliveries").fetchall() == [("crm",)]


def test_an_update_of_the_url_is_used_by_the_next_attempt(
    stack: Stack, receiver_factory: Callable[..., Receiver], db: psycopg.Connection[Any]
) -> None:
    old = receiver_factory(lambda _r, _q: Reply(status=503))
    new = receiver_factory()
    stack.call(
        "POST", body={"Name": "crm", "Url": old.url, "RetrySchedule": ["1s", "1s", "1s", "1s"]}
    )
    (event_id,) = stack.record(USER)
    wait_for(lambda: old.count() >= 1, timeout=30, what="the first attempt to the old URL")
    stack.call("PUT", "/crm", {"Url": new.url})
    moved = time.time()
    wait_for(lambda: new.count() == 1, timeout=30, what="the next attempt at the new URL")
    assert [new.requests[0].headers["webhook-id"]] == webhook_ids(stack.database_url, [event_id])
    assert all(r.at < moved for r in old.requests)
    wait_for(lambda: statuses(db) == {"delivered": 1}, what="delivered through the new URL")


def test_removal_stops_posts_at_once_and_keeps_the_deliveries_for_its_return(
    stack: Stack, receiver_factory: Callable[..., Receiver], db: psycopg.Connection[Any]
) -> None:
    failing = receiver_factory(lambda _r, _q: Reply(status=503))
    stack.call("POST", body={"Name": "crm", "Url": failing.url, "RetrySchedule": ["200ms"] * 40})
    ids = stack.record(*[("update", "peer", f"key-{i}", {"Seq": i}) for i in range(5)])
    wait_for(lambda: failing.count() >= 10, timeout=30, what="attempts to the failing endpoint")
    stack.call("DELETE", "/crm")
    removed = time.time()
    time.sleep(2.0)  # ten retry steps: a worker that missed the removal would have POSTed
    late = [r for r in failing.requests if r.at > removed]
    assert late == [], f"{len(late)} POSTs after the removal"
    kept = db.execute(
        "SELECT event_id, status FROM webhook_deliveries ORDER BY event_id"
    ).fetchall()
    assert [row[0] for row in kept] == ids
    assert {row[1] for row in kept} <= {"pending", "leased"}
    wait_for(
        lambda: statuses(db) == {"pending": 5}, timeout=30, what="leases given back as pending"
    )
    shown = {e["Name"]: e for e in stack.call("GET").json()}["crm"]
    assert shown["Removed"] is True and shown["Source"] is None and shown["Pending"] == 5
    waiting = requests.get(f"{stack.api}/api/v1/webhooks/deliveries", auth=ADMIN, timeout=10)
    assert [(d["Endpoint"], d["EndpointRemoved"]) for d in waiting.json()] == [("crm", True)] * 5
    # it comes back (same name, a URL that answers): what waited is delivered there
    healthy = receiver_factory()
    stack.call("POST", body={"Name": "crm", "Url": healthy.url})
    wait_for(lambda: statuses(db) == {"delivered": 5}, timeout=30, what="the kept deliveries")
    back = requests.get(f"{stack.api}/api/v1/webhooks/deliveries", auth=ADMIN, timeout=10)
    assert {d["EndpointRemoved"] for d in back.json()} == {False}
    assert sorted(r.headers["webhook-id"] for r in healthy.requests) == sorted(
        webhook_ids(stack.database_url, ids)
    )


def test_rotated_secrets_sign_side_by_side_until_their_grace_ends(
    stack: Stack,
    receiver: Receiver,
    db: psycopg.Connection[Any],
) -> None:
    first = new_signing_secret()
    key = new_signing_key()
    stack.call(
        "POST",
        body={
            "Name": "crm",
            "Url": receiver.url,
            "SigningSecret": first,
            "SigningKey": key,
            "Headers": {"X-Tenant": "${WG_WEBHOOKS_HEADER_TENANT}"},
        },
    )
    public = stack.call("GET", "/crm").json()["SigningPublicKey"]
    second = stack.call("POST", "/crm/rotate-secret", {"Grace": "1h"}).json()["SigningSecret"]
    third = stack.call("POST", "/crm/rotate-secret", {}).json()["SigningSecret"]
    stack.record(USER)
    wait_for(lambda: receiver.count() == 1, timeout=30, what="the signed webhook")
    request = receiver.requests[0]
    assert request.headers["webhook-signature"].count("v1,") == 3
    for secret in (first, second, third):
        assert _verifies(secret, request), "every active secret must verify"
    (v1a,) = [s for s in request.headers["webhook-signature"].split() if s.startswith("v1a,")]
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public.removeprefix("whpk_"))).verify(
        base64.b64decode(v1a.removeprefix("v1a,")), signed + request.body
    )
    assert request.headers["X-Tenant"] == "tenant-value-3141"
    # a rotation with no grace: the secret it replaces stops signing at once
    fourth = stack.call("POST", "/crm/rotate-secret", {"Grace": "0s"}).json()["SigningSecret"]
    stack.record(("update", "user", "alice", {"Identifier": "alice"}))
    wait_for(lambda: receiver.count() == 2, timeout=30, what="the second webhook")
    later = receiver.requests[1]
    assert [_verifies(s, later) for s in (first, second, third, fourth)] == [
        True,
        True,
        False,
        True,
    ]
    for name, text in stack.procs.logs():
        for secret in (first, second, third, fourth, key, "tenant-value-3141"):
            assert secret not in text, f"a secret in the log of {name}"
