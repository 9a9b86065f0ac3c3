"""/api/v1/metrics: wg-portal's metrics models read from the collector's peer_status table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.api.conftest import KEYS, Api, enc, interface_body, peer_body
from tests.api.golden import GO_TIME


@pytest.fixture
def seen(api: Api, db: psycopg.Connection[Any]) -> Api:
    """alice's two peers; the collector has seen alpha (connected) but not beta yet."""
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok(
        "POST", "/peer/new", peer_body("beta", UserIdentifier="alice", Addresses=["10.11.12.3/32"])
    )
    db.execute(
        "INSERT INTO peer_status (peer_identifier, interface_identifier, is_connected,"
        " bytes_received, bytes_transmitted, endpoint, last_handshake, last_session_start)"
        " VALUES (%s, 'wg0', true, 1860, 10824, '10.55.66.77:33874', %s, %s)",
        (
            KEYS["alpha"][1],
            datetime(2025, 6, 26, 21, 4, 33, 325216, tzinfo=UTC),
            datetime(2025, 6, 26, 20, 50, 40, 102216, tzinfo=UTC),
        ),
    )
    return api


def test_peer_metrics(seen: Api) -> None:
    metrics = seen.ok("GET", "/metrics/by-peer/" + enc(KEYS["alpha"][1]))
    assert list(metrics) == [
        "PeerIdentifier",
        "IsPingable",
        "LastPing",
        "BytesReceived",
        "BytesTransmitted",
        "LastHandshake",
        "Endpoint",
        "LastSessionStart",
    ]
    assert metrics["PeerIdentifier"] == KEYS["alpha"][1]
    assert (metrics["BytesReceived"], metrics["BytesTransmitted"]) == (1860, 10824)
    assert metrics["LastPing"] is None  # never pinged: null, as Go's *time.Time
    assert GO_TIME.match(metrics["LastHandshake"])
    assert datetime.fromisoformat(metrics["LastHandshake"]) == datetime(
        2025, 6, 26, 21, 4, 33, 325216, tzinfo=UTC
    )


def test_peer_not_seen_yet_has_zeros_and_nulls(seen: Api) -> None:
    metrics = seen.ok("GET", "/metrics/by-peer/" + enc(KEYS["beta"][1]))
    assert metrics["BytesReceived"] == 0
    assert metrics["LastHandshake"] is None and metrics["LastSessionStart"] is None


def test_user_metrics_sum_its_peers(seen: Api) -> None:
    metrics = seen.ok("GET", "/metrics/by-user/alice")
    assert metrics["UserIdentifier"] == "alice"
    assert metrics["PeerCount"] == 2
    assert (metrics["BytesReceived"], metrics["BytesTransmitted"]) == (1860, 10824)
    assert sorted(m["PeerIdentifier"] for m in metrics["PeerMetrics"]) == sorted(
        [KEYS["alpha"][1], KEYS["beta"][1]]
    )


def test_interface_metrics_sum_its_peers(seen: Api) -> None:
    assert seen.ok("GET", "/metrics/by-interface/wg0") == {
        "InterfaceIdentifier": "wg0",
        "BytesReceived": 1860,
        "BytesTransmitted": 10824,
    }


def test_unknown_ids_are_404(api: Api) -> None:
    assert api.get("/metrics/by-peer/" + enc(KEYS["alpha"][1])).status_code == 404
    assert api.get("/metrics/by-user/nobody").status_code == 404
    assert api.get("/metrics/by-interface/wg7").status_code == 404


def test_metrics_are_400_when_statistics_are_off(api_factory: Callable[..., Api]) -> None:
    api = api_factory(statistics={"collect_peer_data": False})
    answer = api.get("/metrics/by-user/alice")
    assert answer.status_code == 400
    assert "collect_peer_data" in answer.json()["Message"]
