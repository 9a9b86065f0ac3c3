"""Reconcile against a fake wg-portal REST API (wg-portal's JSON, tests/support/fake_portal.py):
what wg-portal has and the local tables lack (or the reverse) is applied once, with its event;
a fetch that fails in any way changes nothing; ingest, reconcile and a second reconciler racing
on the same change make one event."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.bridge import mirror, reconcile
from services.bridge.portal import PortalClient
from services.bridge.portal_state import peer_state
from services.config import Settings
from services.periodic import Status
from tests.api.conftest import KEYS, PSK
from tests.conftest import TEMPLATE, _with_database
from tests.support.events import statuses
from tests.support.fake_portal import API_TOKEN, API_USER, FakePortal, option
from tests.support.processes import ROOT, Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

ALPHA, BETA, GAMMA = KEYS["alpha"][1], KEYS["beta"][1], KEYS["gamma"][1]


def fill(portal: FakePortal) -> None:
    """A small wg-portal: one user, one server interface, two peers (one disabled, expiring)."""
    portal.add_user("alice@example.com", Email="alice@example.com", Firstname="Alice")
    portal.add_user("bob", Disabled=True, DisabledReason="left the company", AuthSources=["ldap"])
    portal.add_interface(
        "wg0",
        DisplayName="Office VPN",
        PrivateKey=KEYS["iface"][0],
        PublicKey=KEYS["iface"][1],
        ListenPort=51820,
        Addresses=["10.11.12.1/24"],
        Mtu=1420,
        PeerDefNetwork=["10.11.12.0/24"],
        PeerDefEndpoint="vpn.example.com:51820",
        PeerDefAllowedIPs=["10.11.12.0/24"],
        PeerDefPersistentKeepalive=25,
    )
    portal.add_peer(
        ALPHA,
        "wg0",
        DisplayName="alpha laptop",
        UserIdentifier="alice@example.com",
        PrivateKey=KEYS["alpha"][0],
        PresharedKey=PSK,
        Addresses=["10.11.12.2/32"],
        Endpoint=option("vpn.example.com:51820", True),
        AllowedIPs=option(["10.11.12.0/24"], True),
        PersistentKeepalive=option(25, True),
        ExpiresAt="2031-02-03",
    )
    portal.add_peer(
        BETA,
        "wg0",
        DisplayName="beta phone",
        Disabled=True,
        DisabledReason="lost",
        Addresses=["10.11.12.3/32"],
    )


@pytest.fixture
def portal() -> Iterator[FakePortal]:
    fake = FakePortal()
    fill(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(config_factory: Callable[..., tuple[Path, Settings]], portal: FakePortal) -> Settings:
    return config_factory(
        {"url": "http://127.0.0.1:9/hook"},
        portal={"url": portal.url, "api_user": API_USER, "api_token": API_TOKEN},
    )[1]


def events(db: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    rows = db.execute("SELECT event, entity, identifier FROM webhook_events ORDER BY id")
    return [(e, n, i) for e, n, i in rows]


def payloads(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [json.loads(b) for (b,) in db.execute("SELECT body FROM webhook_events ORDER BY id")]


def done(settings: Settings, **kwargs: Any) -> reconcile.Outcome:
    run = reconcile.run_round(settings, **kwargs)
    assert run.status is Status.DONE, run
    assert run.result is not None
    return run.result


CREATED = [
    ("create", "user", "alice@example.com"),
    ("create", "user", "bob"),
    ("create", "interface", "wg0"),
    ("create", "peer", ALPHA),
    ("create", "peer", BETA),
]


# ---------------------------------------------------------------------------------------------
# Differences found and sent once
# ---------------------------------------------------------------------------------------------


def test_creates_updates_and_deletes_reach_the_receiver_once(
    portal: FakePortal,
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    receiver: Receiver,
    db: psycopg.Connection[Any],
) -> None:
    # The relay and worker run without portal.url: this test drives the rounds itself.
    delivery_config, _ = config_factory({"url": receiver.url})
    _, settings = config_factory(
        {"url": receiver.url},
        portal={"url": portal.url, "api_user": API_USER, "api_token": API_TOKEN},
    )
    procs = processes_factory(delivery_config)
    procs.worker()
    procs.relay()

    done(settings)
    portal.change("users", "alice@example.com", Firstname="Alicia")
    portal.remove("peers", BETA)
    portal.add_peer(GAMMA, "wg0", DisplayName="gamma", Addresses=["10.11.12.4/32"])
    second = done(settings)
    assert second.differences == {"user": 1, "interface": 0, "peer": 2}

    expected = [
        *CREATED,
        ("update", "user", "alice@example.com"),
        ("create", "peer", GAMMA),
        ("delete", "peer", BETA),
    ]
    wait_for(lambda: len(receiver.requests) >= len(expected), what="every webhook")
    got = [
        (r.json()["event"], r.json()["entity"], r.json()["identifier"]) for r in receiver.requests
    ]
    assert sorted(got) == sorted(expected)  # each once (different keys go out concurrently)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == len(expected)
    [update] = [r.json()["payload"] for r in receiver.requests if r.json()["event"] == "update"]
    assert (update["Identifier"], update["Firstname"]) == ("alice@example.com", "Alicia")
    wait_for(lambda: statuses(db) == {"delivered": len(expected)}, what="all delivered")
    assert len(receiver.requests) == len(expected)


def test_a_second_round_finds_nothing_and_sends_nothing(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    first = done(settings)
    assert first.differences == {"user": 2, "interface": 1, "peer": 2}
    assert events(db) == CREATED
    second = done(settings)
    assert second.differences == {"user": 0, "interface": 0, "peer": 0}
    assert events(db) == CREATED


def test_what_wg_portal_said_is_what_is_stored_and_sent(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    done(settings)
    by_identifier = {p["identifier"]: p["payload"] for p in payloads(db)}
    alpha = by_identifier[ALPHA]
    assert alpha["UserIdentifier"] == "alice@example.com"
    assert alpha["ExpiresAt"].startswith("2031-02-03T00:00:00")
    assert alpha["Endpoint"] == "vpn.example.com:51820"
    assert alpha["PersistentKeepalive"] == 25
    assert by_identifier[BETA]["DisabledReason"] == "lost"
    assert "Disabled" in by_identifier[BETA]
    assert by_identifier["bob"]["AuthSources"] == [{"Source": "ldap", "ProviderName": ""}]
    row = db.execute(
        "SELECT endpoint_overridable, allowed_ips, persistent_keepalive FROM peers "
        "WHERE identifier = %s",
        (ALPHA,),
    ).fetchone()
    assert row == (True, ["10.11.12.0/24"], 25)


def test_wg_portal_v2_0_user_model_with_source_and_provider_name(
    settings: Settings, portal: FakePortal, db: psycopg.Connection[Any]
) -> None:
    portal.legacy_users = True
    portal.change("users", "bob", AuthSources=["oauth"])
    done(settings)
    stored = db.execute("SELECT auth_sources FROM users WHERE identifier = 'bob'").fetchone()
    assert stored == ([{"Source": "oauth", "ProviderName": ""}],)
    assert done(settings).differences == {"user": 0, "interface": 0, "peer": 0}


def test_an_interface_deleted_in_wg_portal_is_deleted_with_its_peers(
    settings: Settings, portal: FakePortal, db: psycopg.Connection[Any]
) -> None:
    done(settings)
    portal.remove("peers", ALPHA)
    portal.remove("peers", BETA)
    portal.remove("interfaces", "wg0")
    portal.remove("users", "bob")
    done(settings)
    assert events(db)[len(CREATED) :] == [
        ("delete", "peer", ALPHA),
        ("delete", "peer", BETA),
        ("delete", "interface", "wg0"),
        ("delete", "user", "bob"),
    ]
    assert db.execute("SELECT count(*) FROM peers").fetchone() == (0,)


# ---------------------------------------------------------------------------------------------
# A failed fetch changes nothing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("/peer/by-interface/wg0", "fail"),
        ("/peer/by-interface/wg0", "truncate"),
        ("/peer/by-interface/wg0", "drop_last"),
        ("/peer/by-interface/wg0", "hang"),
        ("/interface/all", "truncate"),
        ("/user/all", "fail"),
    ],
)
def test_a_failing_timed_out_or_partial_page_deletes_nothing(
    settings: Settings,
    portal: FakePortal,
    db: psycopg.Connection[Any],
    prefix: str,
    kind: str,
) -> None:
    done(settings)
    # wg-portal deletes a peer and a user: but the round cannot read all of its state
    portal.remove("peers", BETA)
    portal.remove("users", "bob")
    portal.change("users", "alice@example.com", Firstname="Alicia")
    portal.fault(prefix, kind)
    client = PortalClient(settings.portal, read_timeout=1.0)
    try:
        run = reconcile.run_round(settings, client=client)
    finally:
        client.close()
    assert run.status is Status.FAILED
    assert f"GET /api/v1{prefix}" in run.error
    assert events(db) == CREATED  # nothing deleted, nothing updated either
    assert db.execute("SELECT count(*) FROM peers").fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM users").fetchone() == (2,)
    failed = db.execute(
        "SELECT runs_ok, runs_failed, last_error <> '' FROM periodic_jobs WHERE job = 'reconcile'"
    ).fetchone()
    assert failed == (1, 1, True)

    portal.clear_faults()  # wg-portal answers again: the next round applies it all
    assert done(settings).differences == {"user": 2, "interface": 0, "peer": 1}


def test_wrong_credentials_fail_the_round_without_showing_them(
    settings: Settings,
    portal: FakePortal,
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    portal.api_token = "another-token"  # the token wg-portal now expects
    run = reconcile.run_round(settings)
    assert run.status is Status.FAILED
    assert "HTTP 401" in run.error
    assert API_TOKEN not in run.error
    assert API_TOKEN not in caplog.text
    assert API_TOKEN not in repr(settings)
    assert events(db) == []
    # what wg-portal received was the configured Basic auth
    assert portal.requests[0][1].startswith("Basic ")


def test_an_unreachable_wg_portal_fails_the_round(
    config_factory: Callable[..., tuple[Path, Settings]], db: psycopg.Connection[Any]
) -> None:
    from services.embedded import free_port

    _, settings = config_factory(
        portal={"url": f"http://127.0.0.1:{free_port()}", "api_user": "a", "api_token": "t"}
    )
    run = reconcile.run_round(settings)
    assert run.status is Status.FAILED
    assert "connection refused" in run.error
    assert events(db) == []


# ---------------------------------------------------------------------------------------------
# Baseline, races, one reconciler
# ---------------------------------------------------------------------------------------------


def test_baseline_sends_nothing_then_a_change_sends_one_event(
    settings: Settings, portal: FakePortal, db: psycopg.Connection[Any]
) -> None:
    baseline = done(settings, baseline=True)
    assert baseline.events == 0
    assert events(db) == []
    assert db.execute("SELECT count(*) FROM peers").fetchone() == (2,)
    portal.change("peers", ALPHA, DisplayName="alpha desktop")
    done(settings)
    assert events(db) == [("update", "peer", ALPHA)]
    assert payloads(db)[0]["payload"]["DisplayName"] == "alpha desktop"
    # the baseline is not a difference ingest missed; the update is
    found = dict(db.execute("SELECT entity, found FROM reconcile_differences").fetchall())
    assert found == {"peer": 1}


def test_ingest_and_reconcile_racing_on_one_peer_send_one_event(
    settings: Settings, portal: FakePortal, database_url: str, db: psycopg.Connection[Any]
) -> None:
    done(settings, baseline=True)
    for attempt in range(8):
        name = f"alpha #{attempt}"
        portal.change("peers", ALPHA, DisplayName=name)
        model = portal.peer_list("wg0")[0]
        barrier = threading.Barrier(2)

        def ingest(model: dict[str, Any] = model, barrier: threading.Barrier = barrier) -> None:
            """What the ingest route does with wg-portal's webhook: mirror.apply, one txn."""
            with psycopg.connect(database_url) as conn:
                barrier.wait()
                with conn.transaction():
                    current = conn.execute(
                        "SELECT * FROM peers WHERE identifier = %s", (ALPHA,)
                    ).fetchone()
                    assert current is not None
                    columns = [
                        c.name
                        for c in conn.execute("SELECT * FROM peers LIMIT 0").description or []
                    ]
                    row = dict(zip(columns, current, strict=True))
                    state = peer_state(model, row, datetime.now(UTC))
                    mirror.apply(conn, settings, "peer", ALPHA, state)

        racer = threading.Thread(target=ingest)
        racer.start()
        barrier.wait()
        run = reconcile.run_round(settings)
        racer.join(30)
        assert run.status is Status.DONE
        updates = [e for e in events(db) if e == ("update", "peer", ALPHA)]
        assert len(updates) == attempt + 1, f"round {attempt}: {len(updates)} updates"
        assert payloads(db)[-1]["payload"]["DisplayName"] == name


def test_two_reconcilers_at_once_do_the_work_once(
    portal: FakePortal,
    config_factory: Callable[..., tuple[Path, Settings]],
    db: psycopg.Connection[Any],
    database_url: str,
    redis_url: str,
) -> None:
    config, _ = config_factory(
        portal={"url": portal.url, "api_user": API_USER, "api_token": API_TOKEN}
    )
    # The first to fetch holds the lock while wg-portal keeps it waiting.
    portal.fault("/user/all", "hold", times=1)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WG_WEBHOOKS_CONFIG": str(config),
    }
    command = [sys.executable, "-m", "services.cli.main", "reconcile", "--once"]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    wait_for(lambda: any(run.poll() is not None for run in runs), what="one to give up")
    portal.proceed.set()
    results = [run.communicate(timeout=60) for run in runs]
    codes = sorted(run.returncode for run in runs)
    assert codes == [0, 3], results
    assert any(b"another replica is reconciling now" in err for _, err in results)
    assert events(db) == CREATED


def test_the_relay_reconciles_by_itself_every_interval(
    portal: FakePortal,
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    db: psycopg.Connection[Any],
) -> None:
    config, _ = config_factory(
        portal={
            "url": portal.url,
            "api_user": API_USER,
            "api_token": API_TOKEN,
            "reconcile_interval": "2s",
        }
    )
    procs = processes_factory(config)
    procs.relay()
    procs.relay()  # a second replica: still one round at a time
    wait_for(lambda: len(events(db)) == len(CREATED), what="the first round's events")
    portal.add_peer(GAMMA, "wg0", DisplayName="gamma")
    wait_for(lambda: ("create", "peer", GAMMA) in events(db), timeout=30, what="a later round")
    assert sorted(events(db)) == sorted([*CREATED, ("create", "peer", GAMMA)])


# ---------------------------------------------------------------------------------------------
# Against a second wg-webhooks API (it serves wg-portal's REST API v1) as a stand-in
# ---------------------------------------------------------------------------------------------


def test_reconcile_from_a_second_wg_webhooks_api(
    pg_admin_url: str,
    template_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    import dataclasses
    import uuid

    import requests

    from tests.api.conftest import ADMIN, interface_body, peer_body

    name = f"wgw_portal_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        _, local = config_factory()
        other = dataclasses.replace(local, database_dsn=_with_database(pg_admin_url, name))
        url = api_url_factory(other)
        session = requests.Session()
        session.auth = ADMIN
        for path, body in (
            ("/user/new", {"Identifier": "carol", "Email": "carol@example.com"}),
            ("/interface/new", interface_body()),
            ("/peer/new", peer_body("alpha", UserIdentifier="carol", ExpiresAt="2031-05-06")),
        ):
            answer = session.post(f"{url}/api/v1{path}", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
        _, settings = config_factory(
            portal={"url": url, "api_user": ADMIN[0], "api_token": ADMIN[1]}
        )
        done(settings)
        assert events(db) == [
            ("create", "user", "carol"),
            ("create", "interface", "wg0"),
            ("create", "peer", ALPHA),
        ]
        assert done(settings).differences == {"user": 0, "interface": 0, "peer": 0}
        session.delete(f"{url}/api/v1/peer/by-id/{ALPHA}", timeout=30).raise_for_status()
        done(settings)
        assert events(db)[-1] == ("delete", "peer", ALPHA)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# ---------------------------------------------------------------------------------------------
# The command and the figures
# ---------------------------------------------------------------------------------------------


def test_reconcile_without_portal_url_stops_with_one_line_naming_the_key(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, _ = config_factory()
    done_ = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "--config", str(config), "reconcile", "--once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done_.returncode == 2
    assert done_.stderr.strip().splitlines() == [
        "wg-webhooks: config error: portal.url: is required to reconcile (a running wg-portal)"
    ]


def test_portal_url_without_token_is_a_config_error_naming_the_key(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    from services.config import ConfigError

    with pytest.raises(ConfigError) as error:
        config_factory(portal={"url": "http://127.0.0.1:8888", "api_user": "admin"})
    assert error.value.key == "portal.api_token"


def test_metrics_show_the_last_round_and_the_differences(
    settings: Settings,
    portal: FakePortal,
    api_url_factory: Callable[[Settings], str],
) -> None:
    import requests

    done(settings, baseline=True)
    portal.change("users", "bob", Notes="back")
    done(settings)
    text = requests.get(api_url_factory(settings) + "/metrics", timeout=30).text
    lines = [line for line in text.splitlines() if "reconcile" in line and not line.startswith("#")]
    assert 'wg_webhooks_reconcile_differences_total{entity="user"} 1.0' in lines
    assert 'wg_webhooks_reconcile_differences_total{entity="peer"} 0.0' in lines
    assert 'wg_webhooks_job_runs_total{job="reconcile",outcome="ok"} 2.0' in lines
    success = [line for line in lines if line.startswith("wg_webhooks_job_last_success")]
    assert len(success) == 1
    assert abs(float(success[0].split()[-1]) - datetime.now(UTC).timestamp()) < 120
    assert any(
        line.startswith('wg_webhooks_job_last_duration_seconds{job="reconcile"}') for line in lines
    )


def test_a_newer_state_ingest_applied_during_the_fetch_is_not_overwritten(
    settings: Settings, portal: FakePortal, database_url: str, db: psycopg.Connection[Any]
) -> None:
    done(settings, baseline=True)
    portal.change("peers", ALPHA, DisplayName="older")  # what the round will read
    portal.fault("/peer/by-interface/wg0", "hold", times=1)
    portal.requests.clear()  # the baseline's requests: wait for this round's
    newer = {**portal.peer_list("wg0")[0], "DisplayName": "newer"}

    def ingest_meanwhile() -> None:
        wait_for(lambda: any("by-interface" in p for p, _ in portal.requests), what="the fetch")
        with psycopg.connect(database_url) as conn, conn.transaction():
            row = conn.execute("SELECT * FROM peers WHERE identifier = %s", (ALPHA,))
            columns = [c.name for c in row.description or []]
            current = dict(zip(columns, row.fetchone() or (), strict=True))
            state = peer_state(newer, current, datetime.now(UTC))
            mirror.apply(conn, settings, "peer", ALPHA, state)
        portal.proceed.set()  # now wg-portal's (older) answer reaches the round

    racer = threading.Thread(target=ingest_meanwhile)
    racer.start()
    outcome = done(settings)
    racer.join(30)
    assert outcome.skipped == 1
    assert db.execute(
        "SELECT display_name FROM peers WHERE identifier = %s", (ALPHA,)
    ).fetchone() == ("newer",)
    assert events(db) == [("update", "peer", ALPHA)]  # ingest's; the round sent nothing older


def test_an_entity_the_table_cannot_hold_waits_and_the_others_are_applied(
    settings: Settings, portal: FakePortal, db: psycopg.Connection[Any]
) -> None:
    portal.add_interface("wg9", PrivateKey=KEYS["iface"][0], PublicKey=KEYS["iface"][1], Mtu=65000)
    outcome = done(settings)
    assert outcome.failed == 1
    assert sorted(events(db)) == sorted(CREATED)
    assert db.execute("SELECT count(*) FROM interfaces WHERE identifier = 'wg9'").fetchone() == (0,)


def webhook_peer(model: dict[str, Any]) -> dict[str, Any]:
    """The webhook wg-portal (v2.1+) sends for a peer whose REST API model is `model`
    (reference §3: the `...Str` lists joined with ",", omitempty fields left out)."""
    payload: dict[str, Any] = {
        "CreatedBy": "admin@wgportal.local",
        "UpdatedBy": "admin@wgportal.local",
        "CreatedAt": "2025-06-26T21:04:33.325216Z",
        "UpdatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "Endpoint": model["Endpoint"]["Value"],
        "EndpointPublicKey": model["EndpointPublicKey"]["Value"],
        "AllowedIPsStr": ",".join(model["AllowedIPs"]["Value"]),
        "ExtraAllowedIPsStr": ",".join(model["ExtraAllowedIPs"]),
        "PresharedKey": model["PresharedKey"],
        "PersistentKeepalive": model["PersistentKeepalive"]["Value"],
        "DisplayName": model["DisplayName"],
        "Identifier": model["Identifier"],
        "UserIdentifier": model["UserIdentifier"],
        "InterfaceIdentifier": model["InterfaceIdentifier"],
    }
    if model["Disabled"]:  # wg-portal's exact time, not the round's
        payload["Disabled"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if model["DisabledReason"]:
        payload["DisabledReason"] = model["DisabledReason"]
    if model.get("ExpiresAt"):
        payload["ExpiresAt"] = model["ExpiresAt"] + "T00:00:00Z"
    if model["Notes"]:
        payload["Notes"] = model["Notes"]
    payload.update(
        {
            "AutomaticallyCreated": False,
            "PrivateKey": model["PrivateKey"],
            "PublicKey": model["Identifier"],
            "InterfaceType": model["Mode"],
            "Addresses": model["Addresses"],
            "CheckAliveAddress": model["CheckAliveAddress"],
            "DnsStr": ",".join(model["Dns"]["Value"]),
            "DnsSearchStr": ",".join(model["DnsSearch"]["Value"]),
            "Mtu": model["Mtu"]["Value"],
        }
    )
    return {
        "event": "update",
        "entity": "peer",
        "identifier": model["Identifier"],
        "payload": payload,
    }


def test_the_ingest_route_and_a_round_racing_on_one_peer_send_one_event(
    portal: FakePortal,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    import requests

    ingest_key = "Bearer ingest-key"
    _, settings = config_factory(
        {"url": "http://127.0.0.1:9/hook"},
        ingest={"authentication": ingest_key},
        portal={"url": portal.url, "api_user": API_USER, "api_token": API_TOKEN},
    )
    url = api_url_factory(settings) + "/ingest/wg-portal"
    done(settings, baseline=True)
    for attempt in range(6):
        name = f"alpha #{attempt}"
        portal.change("peers", ALPHA, DisplayName=name)
        if attempt % 2:  # and disabled, then enabled again: the time never makes a second event
            portal.change("peers", ALPHA, Disabled=attempt % 4 == 1, DisabledReason="paused")
        body = webhook_peer(portal.peer_list("wg0")[0])
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def send(
            body: dict[str, Any] = body,
            barrier: threading.Barrier = barrier,
            answers: list[int] = answers,
        ) -> None:
            barrier.wait()
            answer = requests.post(
                url, json=body, headers={"Authorization": ingest_key}, timeout=30
            )
            answers.append(answer.status_code)

        racer = threading.Thread(target=send)
        racer.start()
        barrier.wait()
        run = reconcile.run_round(settings)
        racer.join(30)
        assert answers == [200]
        assert run.status is Status.DONE
        updates = [e for e in events(db) if e == ("update", "peer", ALPHA)]
        assert len(updates) == attempt + 1, f"attempt {attempt}: {len(updates)} updates"
        assert payloads(db)[-1]["payload"]["DisplayName"] == name
        # and a round after both finds nothing left to do
        assert done(settings).differences == {"user": 0, "interface": 0, "peer": 0}


def test_a_baseline_adopts_the_rest_when_the_table_refuses_one(
    settings: Settings, portal: FakePortal, db: psycopg.Connection[Any]
) -> None:
    portal.add_interface("wg9", PrivateKey=KEYS["iface"][0], PublicKey=KEYS["iface"][1], Mtu=65000)
    outcome = done(settings, baseline=True)
    assert outcome.failed == 1
    assert outcome.differences == {"user": 2, "interface": 1, "peer": 2}
    assert events(db) == []
    assert db.execute("SELECT identifier FROM interfaces").fetchall() == [("wg0",)]
