"""What one collector cycle writes: status rows, and connect/disconnect events with them.

Each test feeds the collector `wg show all dump` files through its `--dump-file` source, on a
test clock, against the real database, and asserts the stored rows and recorded webhook bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from services.collector.loop import CycleResult
from tests.collector.conftest import (
    ALICE,
    BOB,
    CAROL,
    REKEY,
    Host,
    Seen,
    add_interface,
    add_peer,
    bodies,
    events,
    later,
    status,
)

HANDSHAKE = datetime(2025, 6, 26, 21, 4, 33, tzinfo=UTC)  # 23:04:33+02:00, as the reference


@pytest.fixture
def alice(db: psycopg.Connection[Any]) -> str:
    """wg0 with the peer alice, both known to the database."""
    add_interface(db)
    add_peer(db, ALICE)
    return ALICE


def connected(host: Host, key: str = ALICE, rx: int = 1860, tx: int = 10824, **kw: Any) -> Seen:
    return Seen(key, handshake=host.now - timedelta(seconds=7), rx=rx, tx=tx, **kw)


# --- connect --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("berlin_time")
def test_first_sight_of_a_connected_peer_sends_one_connect_with_the_reference_payload(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    assert host.observe(Seen(alice, HANDSHAKE, rx=1860, tx=10824)) is CycleResult.RECORDED
    # The reference's example, byte for byte, except that WireGuard reports whole seconds.
    assert bodies(db) == [
        '{"event":"connect","entity":"peer","identifier":"' + alice + '","payload":{'
        '"PeerId":"' + alice + '","IsConnected":true,"IsPingable":false,"LastPing":null,'
        '"BytesReceived":1860,"BytesTransmitted":10824,'
        '"LastHandshake":"2025-06-26T23:04:33+02:00","Endpoint":"10.55.66.77:33874",'
        '"LastSessionStart":"2025-06-26T23:04:33+02:00"}}'
    ]


def test_connect_payload_keeps_every_key_in_order_with_nulls(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    [body] = events(db)
    assert list(body) == ["event", "entity", "identifier", "payload"]
    assert list(body["payload"]) == [
        "PeerId",
        "IsConnected",
        "IsPingable",
        "LastPing",
        "BytesReceived",
        "BytesTransmitted",
        "LastHandshake",
        "Endpoint",
        "LastSessionStart",
    ]
    assert body["payload"]["LastPing"] is None


def test_connect_event_is_delivered_to_every_endpoint(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    rows = db.execute("SELECT endpoint, ordering_key, status FROM webhook_deliveries").fetchall()
    assert rows == [("default", f"peer:{alice}", "pending")]


def test_status_row_holds_what_wireguard_reported(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(Seen(alice, HANDSHAKE, rx=1860, tx=10824, endpoint="[2001:db8::7]:51000"))
    row = status(db, alice)
    assert row is not None
    assert {k: row[k] for k in row if k != "updated_at"} == {
        "peer_identifier": alice,
        "interface_identifier": "wg0",
        "is_connected": True,
        "is_pingable": False,
        "last_ping": None,
        "bytes_received": 1860,
        "bytes_transmitted": 10824,
        "endpoint": "[2001:db8::7]:51000",
        "last_handshake": HANDSHAKE,
        "last_session_start": HANDSHAKE,
        "disconnected_since": None,
    }
    assert row["updated_at"] == host.now


def test_first_sight_of_a_peer_that_never_shook_hands_sends_nothing(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(Seen(alice, handshake=None, endpoint=None))
    assert events(db) == []
    row = status(db, alice)
    assert row is not None
    assert (row["is_connected"], row["last_handshake"], row["endpoint"]) == (False, None, "")


# --- nothing new ----------------------------------------------------------------------------------


def test_same_state_again_sends_nothing_even_when_counters_grow(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    later(host, 60)
    host.observe(connected(host, rx=90_000, tx=123_456))
    assert [e["event"] for e in events(db)] == ["connect"]
    row = status(db, alice)
    assert row is not None
    assert (row["bytes_received"], row["bytes_transmitted"]) == (90_000, 123_456)


def test_session_start_is_kept_while_the_session_lasts(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    first = status(db, alice)
    later(host, 120)
    host.observe(connected(host, rx=5000, tx=20000))
    row = status(db, alice)
    assert first is not None and row is not None
    assert row["last_session_start"] == first["last_session_start"]
    assert row["last_handshake"] > first["last_handshake"]


def test_a_new_collector_instance_fires_nothing_for_the_stored_state(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    later(host, 30)
    host.new_collector()  # a restart: only the database remembers
    host.observe(connected(host, rx=4000, tx=12000))
    assert [e["event"] for e in events(db)] == ["connect"]


def test_a_restart_after_the_peer_left_sends_the_one_disconnect(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    stale = host.now - timedelta(seconds=7)
    later(host, REKEY + 60)
    host.new_collector()
    host.observe(Seen(alice, stale, rx=1860, tx=10824))
    host.observe(Seen(alice, stale, rx=1860, tx=10824))
    assert [e["event"] for e in events(db)] == ["connect", "disconnect"]


# --- disconnect and grace ------------------------------------------------------------------------


def test_handshake_older_than_the_rekey_timeout_sends_disconnect(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host))
    handshake = host.now - timedelta(seconds=7)
    later(host, REKEY - 7 - 1)  # the handshake is now REKEY - 1 s old: still connected
    host.observe(Seen(alice, handshake, rx=1860, tx=10824))
    assert [e["event"] for e in events(db)] == ["connect"]
    later(host, 2)
    host.observe(Seen(alice, handshake, rx=1860, tx=10824))
    assert [e["event"] for e in events(db)] == ["connect", "disconnect"]
    payload = events(db)[1]["payload"]
    assert payload["IsConnected"] is False
    assert payload["PeerId"] == alice
    assert (payload["BytesReceived"], payload["BytesTransmitted"]) == (1860, 10824)
    assert payload["Endpoint"] == "10.55.66.77:33874"
    row = status(db, alice)
    assert row is not None
    assert (row["is_connected"], row["disconnected_since"]) == (False, None)


def test_reconnect_within_the_grace_sends_nothing(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    host = host_factory(grace=300.0)
    host.observe(connected(host))
    stale = host.now - timedelta(seconds=7)
    later(host, REKEY + 60)
    host.observe(Seen(alice, stale))  # disconnected by the rule, inside the grace
    row = status(db, alice)
    assert row is not None
    assert (row["is_connected"], row["disconnected_since"]) == (True, host.now)
    later(host, 120)
    host.observe(connected(host, rx=9000, tx=9000))  # back before the grace ran out
    assert [e["event"] for e in events(db)] == ["connect"]
    row = status(db, alice)
    assert row is not None
    assert (row["is_connected"], row["disconnected_since"]) == (True, None)


def test_disconnect_is_sent_once_the_grace_has_passed(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    host = host_factory(grace=300.0)
    host.observe(connected(host))
    stale = host.now - timedelta(seconds=7)
    later(host, REKEY + 60)
    host.observe(Seen(alice, stale))
    later(host, 299)
    host.observe(Seen(alice, stale))
    assert [e["event"] for e in events(db)] == ["connect"]
    later(host, 1)
    host.observe(Seen(alice, stale))
    assert [e["event"] for e in events(db)] == ["connect", "disconnect"]


def test_the_grace_survives_a_restart(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    host = host_factory(grace=300.0)
    host.observe(connected(host))
    stale = host.now - timedelta(seconds=7)
    later(host, REKEY + 60)
    host.observe(Seen(alice, stale))
    later(host, 300)
    host.new_collector()
    host.observe(Seen(alice, stale))
    assert [e["event"] for e in events(db)] == ["connect", "disconnect"]


# --- what a collector leaves alone ---------------------------------------------------------------


def test_unknown_interface_is_ignored_with_a_debug_line(
    host: Host, alice: str, db: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.collector")
    assert (
        host.observe(
            connected(host), connected(host, BOB, interface="wg9"), interfaces=("wg0", "wg9")
        )
        is CycleResult.RECORDED
    )
    assert [e["identifier"] for e in events(db)] == [alice]
    assert status(db, BOB) is None
    [line] = [r for r in caplog.records if "wg9" in r.getMessage()]
    assert line.levelno == logging.DEBUG
    assert "not in the database" in line.getMessage()


def test_peer_not_in_the_database_is_ignored(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    host.observe(connected(host), connected(host, CAROL))
    assert [e["identifier"] for e in events(db)] == [alice]
    assert status(db, CAROL) is None


def test_peer_known_on_another_interface_is_not_recorded_from_this_one(
    host: Host, alice: str, db: psycopg.Connection[Any]
) -> None:
    add_interface(db, "wg1")
    add_peer(db, BOB, interface="wg1")
    host.observe(connected(host, BOB, interface="wg0"), interfaces=("wg0", "wg1"))
    assert events(db) == []
    assert status(db, BOB) is None


def test_peers_of_interfaces_not_in_this_hosts_dump_keep_their_state(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    add_interface(db, "wg1")
    add_peer(db, BOB, interface="wg1")
    host_a, host_b = host_factory(), host_factory()  # wg0 lives on A, wg1 on B
    host_a.observe(connected(host_a))
    host_b.observe(connected(host_b, BOB, interface="wg1"), interfaces=("wg1",))
    before = status(db, alice)
    later(host_b, REKEY * 10)
    host_b.observe(connected(host_b, BOB, interface="wg1"), interfaces=("wg1",))
    assert status(db, alice) == before
    assert sorted((e["event"], e["identifier"]) for e in events(db)) == sorted(
        [("connect", alice), ("connect", BOB)]
    )


def test_broken_dump_line_logs_one_error_and_changes_nothing(
    host: Host, alice: str, db: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    host.observe(connected(host))
    before = status(db, alice)
    lines = host.dump_path.read_text().splitlines()
    host.dump_path.write_text("\n".join([lines[0], lines[1].replace("\t1860\t", "\t-5\t")]))
    later(host, REKEY * 2)  # a readable dump would now disconnect alice
    caplog.clear()
    assert host.cycle() is CycleResult.NO_DUMP
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert "line 2" in errors[0].getMessage()
    assert status(db, alice) == before
    assert [e["event"] for e in events(db)] == ["connect"]


def test_unreadable_dump_logs_one_error_and_the_next_cycle_works(
    host: Host, alice: str, db: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.collector")
    assert host.cycle() is CycleResult.NO_DUMP  # the file does not exist yet
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in errors] == [logging.ERROR]
    assert "does not exist" in errors[0].getMessage()
    assert host.observe(connected(host)) is CycleResult.RECORDED
    assert [e["event"] for e in events(db)] == ["connect"]


def test_empty_dump_records_nothing(host: Host, alice: str, db: psycopg.Connection[Any]) -> None:
    host.dump_path.write_text("")
    assert host.cycle() is CycleResult.RECORDED
    assert status(db, alice) is None


# --- peer_metric ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("berlin_time")
def test_peer_metric_format_sends_status_and_peer_model(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    host = host_factory(state_format="peer_metric")
    host.observe(Seen(alice, HANDSHAKE, rx=1860, tx=10824))
    [body] = events(db)
    assert (body["event"], body["entity"], body["identifier"]) == ("connect", "peer_metric", alice)
    assert list(body["payload"]) == ["Status", "Peer"]
    # LastPing is left out (omitempty), unlike the `peer` format.
    assert body["payload"]["Status"] == {
        "UpdatedAt": "2025-06-26T23:04:40+02:00",
        "IsConnected": True,
        "IsPingable": False,
        "BytesReceived": 1860,
        "BytesTransmitted": 10824,
        "Endpoint": "10.55.66.77:33874",
        "LastHandshake": "2025-06-26T23:04:33+02:00",
        "LastSessionStart": "2025-06-26T23:04:33+02:00",
    }
    assert list(body["payload"]["Status"]) == [
        "UpdatedAt",
        "IsConnected",
        "IsPingable",
        "BytesReceived",
        "BytesTransmitted",
        "Endpoint",
        "LastHandshake",
        "LastSessionStart",
    ]
    peer = body["payload"]["Peer"]
    assert peer["Identifier"] == alice
    assert peer["PublicKey"] == alice
    assert peer["InterfaceIdentifier"] == "wg0"
    assert peer["DisplayName"] == "alice's laptop"
    assert peer["UserIdentifier"] == "alice@example.com"
    assert peer["Addresses"] == ["10.11.12.2/32"]
    assert peer["PrivateKey"] == ""  # webhook.include_secrets is off


def test_peer_metric_disconnect_leaves_out_unset_times(
    host_factory: Callable[..., Host], alice: str, db: psycopg.Connection[Any]
) -> None:
    host = host_factory(state_format="peer_metric")
    host.observe(connected(host))
    later(host, REKEY * 2)
    host.observe(Seen(alice, handshake=None, rx=0, tx=0))  # WireGuard re-created the peer
    status_keys = [list(e["payload"]["Status"]) for e in events(db)]
    assert [e["event"] for e in events(db)] == ["connect", "disconnect"]
    assert "LastHandshake" not in status_keys[1]
    assert "LastSessionStart" not in status_keys[1]
    assert events(db)[1]["payload"]["Status"]["IsConnected"] is False
