"""The connect/disconnect payloads, in the two formats of `webhook.peer_state_format`.

`peer` (the default, the format of wg-portal's webhook documentation): entity `peer`, the
PeerStatus object itself, every key always present and pointer times as `null`.

`peer_metric` (wg-portal 2.1 and later): entity `peer_metric`, `{"Status": {...}, "Peer": {...}}`
where Status leaves out the times that are unset (`omitempty`) and Peer is the peer model.

Both read a row of the `peer_status` table (column names as keys), the state just written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.payloads.gotime import go_time, go_time_or_none
from services.payloads.peer import peer_payload


def peer_state_payload(status: Mapping[str, Any]) -> dict[str, Any]:
    """wg-portal's domain.PeerStatus as JSON: key order and nulls exactly as its webhook docs."""
    return {
        "PeerId": status["peer_identifier"],
        "IsConnected": status["is_connected"],
        "IsPingable": status["is_pingable"],
        "LastPing": go_time_or_none(status["last_ping"]),
        "BytesReceived": status["bytes_received"],
        "BytesTransmitted": status["bytes_transmitted"],
        "LastHandshake": go_time_or_none(status["last_handshake"]),
        "Endpoint": status["endpoint"],
        "LastSessionStart": go_time_or_none(status["last_session_start"]),
    }


def peer_metric_payload(
    status: Mapping[str, Any], peer: dict[str, Any], include_secrets: bool
) -> dict[str, Any]:
    """wg-portal 2.1's PeerMetrics: the status (unset times left out) and the peer model."""
    state: dict[str, Any] = {
        "UpdatedAt": go_time(status["updated_at"]),
        "IsConnected": status["is_connected"],
        "IsPingable": status["is_pingable"],
    }
    if status["last_ping"] is not None:
        state["LastPing"] = go_time(status["last_ping"])
    state["BytesReceived"] = status["bytes_received"]
    state["BytesTransmitted"] = status["bytes_transmitted"]
    state["Endpoint"] = status["endpoint"]
    if status["last_handshake"] is not None:
        state["LastHandshake"] = go_time(status["last_handshake"])
    if status["last_session_start"] is not None:
        state["LastSessionStart"] = go_time(status["last_session_start"])
    return {"Status": state, "Peer": peer_payload(peer, include_secrets)}
