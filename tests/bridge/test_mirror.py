"""mirror.apply: the local row becomes wg-portal's state, with the REST API's event or none."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.bridge import mirror
from services.collector.rules import Publish
from services.config import Settings
from tests.api.conftest import KEYS, PSK

T0 = datetime(2025, 6, 26, 21, 4, 33, 325216, tzinfo=UTC)
T1 = datetime(2025, 6, 27, 8, 0, 0, 1, tzinfo=UTC)
ALPHA = KEYS["alpha"][1]


def user_state(**overrides: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "email": "alice@example.com",
        "auth_sources": [{"Source": "db", "ProviderName": ""}],
        "is_admin": False,
        "firstname": "Alice",
        "created_by": "admin@wgportal.local",
        "updated_by": "admin@wgportal.local",
        "created_at": T0,
        "updated_at": T0,
    }
    state.update(overrides)
    return state


def interface_state(**overrides: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "display_name": "wg0",
        "type": "server",
        "private_key": KEYS["iface"][0],
        "public_key": KEYS["iface"][1],
        "listen_port": 51820,
        "addresses": ["10.11.12.1/24"],
        "peer_def_endpoint": "vpn.example.com:51820",
        "created_at": T0,
        "updated_at": T0,
    }
    state.update(overrides)
    return state


def peer_state(**overrides: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "interface_identifier": "wg0",
        "user_identifier": "",
        "display_name": "alpha laptop",
        "private_key": KEYS["alpha"][0],
        "preshared_key": PSK,
        "addresses": ["10.11.12.2/32"],
        "endpoint": "vpn.example.com:51820",
        "allowed_ips": ["10.11.12.0/24"],
        "created_at": T0,
        "updated_at": T0,
    }
    state.update(overrides)
    return state


@pytest.fixture
def settings(config_factory: Callable[..., tuple[Path, Settings]]) -> Settings:
    return config_factory({"url": "http://127.0.0.1:9/hook"})[1]


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url) as connection:
        yield connection


def events(db: psycopg.Connection[Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = db.execute("SELECT event, entity, identifier, body FROM webhook_events ORDER BY id")
    return [(e, n, i, json.loads(b)) for e, n, i, b in rows]


def apply(conn: psycopg.Connection[Any], settings: Settings, *args: Any, **kw: Any) -> str | None:
    with conn.transaction():
        return mirror.apply(conn, settings, *args, **kw)


def test_a_new_entity_is_inserted_with_a_create_event(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    assert apply(conn, settings, "user", "alice", user_state()) == "create"
    [(event, entity, identifier, body)] = events(db)
    assert (event, entity, identifier) == ("create", "user", "alice")
    assert body["payload"]["Email"] == "alice@example.com"
    assert body["payload"]["CreatedAt"] == "2025-06-26T21:04:33.325216Z"
    assert db.execute("SELECT firstname FROM users").fetchall() == [("Alice",)]


def test_a_changed_field_is_an_update(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "user", "alice", user_state())
    changed = user_state(firstname="Alicia", updated_at=T1)
    assert apply(conn, settings, "user", "alice", changed) == "update"
    event, _, _, body = events(db)[-1]
    assert event == "update"
    assert body["payload"]["Firstname"] == "Alicia"
    assert body["payload"]["UpdatedAt"] == "2025-06-27T08:00:00.000001Z"


def test_a_save_that_changes_only_bookkeeping_records_nothing(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "user", "alice", user_state())
    bumped = user_state(updated_at=T1, updated_by="_WG_SYS_ADMIN_")
    assert apply(conn, settings, "user", "alice", bumped) is None
    assert len(events(db)) == 1
    assert db.execute("SELECT updated_at FROM users").fetchone() == (T0,)


def test_columns_the_state_leaves_out_keep_their_value(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "user", "alice", user_state())
    db.execute("UPDATE users SET password_hash = 'kept', api_token = 'token'")
    apply(conn, settings, "user", "alice", user_state(firstname="Alicia"))
    assert db.execute("SELECT password_hash, api_token FROM users").fetchone() == (
        "kept",
        "token",
    )


def test_delete_records_delete_and_a_missing_entity_records_nothing(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "user", "alice", user_state())
    assert apply(conn, settings, "user", "alice", None) == "delete"
    assert apply(conn, settings, "user", "alice", None) is None
    assert [e[0] for e in events(db)] == ["create", "delete"]
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_deleting_an_interface_deletes_its_peers_each_with_an_event(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "interface", "wg0", interface_state())
    apply(conn, settings, "peer", ALPHA, peer_state())
    assert apply(conn, settings, "interface", "wg0", None) == "delete"
    assert [(e[0], e[1]) for e in events(db)][-2:] == [("delete", "peer"), ("delete", "interface")]
    assert db.execute("SELECT count(*) FROM peers").fetchone() == (0,)


def test_baseline_adopts_state_without_events(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    assert apply(conn, settings, "interface", "wg0", interface_state(), emit=False) is None
    assert apply(conn, settings, "peer", ALPHA, peer_state(), emit=False) is None
    assert apply(conn, settings, "interface", "wg0", None, emit=False) is None
    assert events(db) == []
    assert db.execute("SELECT count(*) FROM interfaces").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM peers").fetchone() == (0,)


def test_an_update_of_an_unknown_row_is_recorded_as_the_update_the_source_sent(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    # wg-portal re-keys a peer as `delete` old + `update` new; the REST API records the same pair.
    assert apply(conn, settings, "peer", ALPHA, peer_state(), event="update") == "update"
    assert events(db)[0][:3] == ("update", "peer", ALPHA)


def test_secrets_are_redacted_as_the_rest_api_redacts_them(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "peer", ALPHA, peer_state())
    payload = events(db)[0][3]["payload"]
    assert (payload["PrivateKey"], payload["PresharedKey"]) == ("", "")
    assert db.execute("SELECT private_key FROM peers").fetchone() == (KEYS["alpha"][0],)


def test_what_the_rest_api_would_refuse_is_stored_with_a_warning(
    conn: psycopg.Connection[Any],
    db: psycopg.Connection[Any],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="services.bridge.mirror")
    odd_key = "not-a-wireguard-key"
    lenient = peer_state(
        interface_identifier="wg9", user_identifier="nobody", endpoint="vpn.example.com"
    )
    assert apply(conn, settings, "peer", odd_key, lenient) == "create"
    portless = interface_state(listen_port=0, peer_def_endpoint="vpn.example.com")
    assert apply(conn, settings, "interface", "wg1", portless) == "create"
    assert db.execute("SELECT interface_identifier, endpoint FROM peers").fetchall() == [
        ("wg9", "vpn.example.com")
    ]
    text = caplog.text
    for warning in (
        "interface wg9 does not exist",
        "user nobody does not exist",
        "Endpoint 'vpn.example.com' has no port",
        "PublicKey is not a WireGuard key",
        "server interface without ListenPort",
        "PeerDefEndpoint 'vpn.example.com' has no port",
    ):
        assert warning in text
    assert [e[1] for e in events(db)] == ["peer", "interface"]


def _wait_until_blocked(db: psycopg.Connection[Any], thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and thread.is_alive():
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        ).fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.02)
    raise AssertionError("the second apply never waited for the first")


@pytest.mark.parametrize("existing", [False, True], ids=["both-create", "both-update"])
def test_two_applies_of_one_change_at_once_record_one_event(
    existing: bool,
    database_url: str,
    conn: psycopg.Connection[Any],
    db: psycopg.Connection[Any],
    settings: Settings,
) -> None:
    if existing:
        apply(conn, settings, "user", "alice", user_state())
    change = user_state(firstname="Alicia", updated_at=T1)
    results: list[str | None] = []

    def second() -> None:
        with psycopg.connect(database_url) as other:
            results.append(apply(other, settings, "user", "alice", change))

    with conn.transaction():
        first = mirror.apply(conn, settings, "user", "alice", change)
        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_blocked(db, thread)
    thread.join(10)
    assert first == ("update" if existing else "create")
    assert results == [None]
    assert len(events(db)) == (2 if existing else 1)


def test_a_reported_connect_goes_through_the_collectors_publish_once(
    conn: psycopg.Connection[Any], db: psycopg.Connection[Any], settings: Settings
) -> None:
    apply(conn, settings, "interface", "wg0", interface_state())
    apply(conn, settings, "peer", ALPHA, peer_state())
    status = {
        "is_pingable": False,
        "last_ping": None,
        "bytes_received": 1860,
        "bytes_transmitted": 10824,
        "endpoint": "127.0.0.1:33874",
        "last_handshake": T1,
        "last_session_start": T0,
        "updated_at": T1,
    }
    for expected in ("connect", None):
        with conn.transaction():
            got = mirror.apply_status(conn, settings, ALPHA, status, Publish.CONNECT)
        assert got == expected
    event, entity, identifier, body = events(db)[-1]
    assert (event, entity, identifier) == ("connect", "peer", ALPHA)
    assert body["payload"] == {
        "PeerId": ALPHA,
        "IsConnected": True,
        "IsPingable": False,
        "LastPing": None,
        "BytesReceived": 1860,
        "BytesTransmitted": 10824,
        "LastHandshake": "2025-06-27T08:00:00.000001Z",
        "Endpoint": "127.0.0.1:33874",
        "LastSessionStart": "2025-06-26T21:04:33.325216Z",
    }
