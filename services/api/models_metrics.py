"""wg-portal's metrics models (REST v1) from `peer_status` rows, keys in Go's order.

Times are Go's RFC 3339 with nanoseconds; a time never seen is null, as Go's *time.Time is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.payloads.gotime import go_time_or_none


class PeerMetrics(BaseModel):
    PeerIdentifier: str
    IsPingable: bool
    LastPing: str | None
    BytesReceived: int
    BytesTransmitted: int
    LastHandshake: str | None
    Endpoint: str
    LastSessionStart: str | None


class InterfaceMetrics(BaseModel):
    InterfaceIdentifier: str
    BytesReceived: int
    BytesTransmitted: int


class UserMetrics(BaseModel):
    UserIdentifier: str
    PeerCount: int
    BytesReceived: int
    BytesTransmitted: int
    PeerMetrics: list[PeerMetrics]


def peer_metrics_out(peer: str, status: dict[str, Any] | None) -> dict[str, Any]:
    """A peer's status; a peer the collector has not seen yet has zeros and nulls."""
    status = status or {}
    return {
        "PeerIdentifier": peer,
        "IsPingable": status.get("is_pingable", False),
        "LastPing": go_time_or_none(status.get("last_ping")),
        "BytesReceived": status.get("bytes_received", 0),
        "BytesTransmitted": status.get("bytes_transmitted", 0),
        "LastHandshake": go_time_or_none(status.get("last_handshake")),
        "Endpoint": status.get("endpoint", ""),
        "LastSessionStart": go_time_or_none(status.get("last_session_start")),
    }


def user_metrics_out(user: str, peers: list[dict[str, Any]]) -> dict[str, Any]:
    """`peers` are peer_metrics_out() results of the user's peers."""
    return {
        "UserIdentifier": user,
        "PeerCount": len(peers),
        "BytesReceived": sum(p["BytesReceived"] for p in peers),
        "BytesTransmitted": sum(p["BytesTransmitted"] for p in peers),
        "PeerMetrics": peers,
    }
