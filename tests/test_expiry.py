"""wg-portal's expired-peers check when wg-webhooks is the system of record: an expired, enabled
peer is disabled with reason "expired" and one `update`, by one runner across replicas."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services import expiry
from services.config import Settings
from services.db.queries import query
from services.periodic import Status
from tests.api.conftest import KEYS, Api, interface_body, peer_body
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for


@pytest.fixture
def settings_and_api(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    receiver: Receiver,
) -> tuple[Path, Settings, Api]:
    config, settings = config_factory({"url": receiver.url})
    api = Api(api_url_factory(settings))
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/peer/new", peer_body("alpha", ExpiresAt="2020-01-31"))
    api.ok(
        "POST", "/peer/new", peer_body("beta", ExpiresAt="2099-01-31", Addresses=["10.11.12.3/32"])
    )
    api.ok(
        "POST",
        "/peer/new",
        peer_body(
            "gamma",
            ExpiresAt="2020-01-31",
            Disabled=True,
            DisabledReason="lost",
            Addresses=["10.11.12.4/32"],
        ),
    )
    return config, settings, api


def updates(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = db.execute("SELECT body FROM webhook_events WHERE event = 'update' ORDER BY id")
    return [json.loads(body) for (body,) in rows]


def test_an_expired_peer_is_disabled_with_one_update(
    settings_and_api: tuple[Path, Settings, Api], db: psycopg.Connection[Any]
) -> None:
    _, settings, api = settings_and_api
    run = expiry.check(settings)
    assert run.status is Status.DONE
    assert run.result == [KEYS["alpha"][1]]
    [update] = updates(db)
    assert update["identifier"] == KEYS["alpha"][1]
    assert update["payload"]["DisabledReason"] == "expired"
    assert "Disabled" in update["payload"]
    assert update["payload"]["UpdatedBy"] == "_WG_SYS_ADMIN_"
    peer = api.ok("GET", f"/peer/by-id/{KEYS['alpha'][1]}")
    assert (peer["Disabled"], peer["DisabledReason"]) == (True, "expired")
    # not expired yet, or disabled already: untouched
    assert api.ok("GET", f"/peer/by-id/{KEYS['beta'][1]}")["Disabled"] is False
    assert api.ok("GET", f"/peer/by-id/{KEYS['gamma'][1]}")["DisabledReason"] == "lost"
    # the next check finds nothing more to do
    assert expiry.check(settings).result == []
    assert len(updates(db)) == 1


def test_one_runner_across_replicas(
    settings_and_api: tuple[Path, Settings, Api], db: psycopg.Connection[Any], database_url: str
) -> None:
    _, settings, _ = settings_and_api
    with psycopg.connect(database_url, autocommit=True) as other_replica:
        assert other_replica.execute(query("job_try_lock"), {"job": "expiry"}).fetchone() == (True,)
        assert expiry.check(settings).status is Status.BUSY
        assert updates(db) == []
        other_replica.execute(query("job_unlock"), {"job": "expiry"})
    assert expiry.check(settings, interval=900).status is Status.DONE
    # another replica's turn within the interval: not due
    assert expiry.check(settings, interval=900).status is Status.NOT_DUE
    assert len(updates(db)) == 1


def test_the_relay_runs_the_check_and_the_receiver_gets_the_update(
    settings_and_api: tuple[Path, Settings, Api],
    processes_factory: Callable[[Path], Processes],
    receiver: Receiver,
    db: psycopg.Connection[Any],
) -> None:
    config, _, _ = settings_and_api
    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    procs.relay()  # two replicas: the peer is still disabled once

    def expired() -> list[dict[str, Any]]:
        return [r.json() for r in receiver.requests if r.json()["event"] == "update"]

    [update] = wait_for(expired, what="the expired peer's update")
    assert update["payload"]["DisabledReason"] == "expired"
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            ).fetchone()
            == (0,)
        ),
        what="all delivered",
    )
    assert len(expired()) == 1
    last = db.execute("SELECT last_success_at FROM periodic_jobs WHERE job = 'expiry'").fetchone()
    assert last is not None and last[0] <= datetime.now(UTC)
