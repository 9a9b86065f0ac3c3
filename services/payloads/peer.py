"""The peer model of wg-portal's webhooks (internal/app/webhooks/models/peer.go).

Keys in the struct's order; `omitempty` keys are left out when empty; lists are `[]`, never null;
the `...Str` fields are the list joined with "," as wg-portal stores them. Private and preshared
keys are "" unless `webhook.include_secrets` is on (wg-portal always sends them).
"""

from __future__ import annotations

from typing import Any

from services.payloads.gotime import go_time


def joined(values: list[str] | None) -> str:
    return ",".join(values or [])


def peer_payload(peer: dict[str, Any], include_secrets: bool) -> dict[str, Any]:
    """`peer` is a row of the peers table (column names as keys)."""
    payload: dict[str, Any] = {
        "CreatedBy": peer["created_by"],
        "UpdatedBy": peer["updated_by"],
        "CreatedAt": go_time(peer["created_at"]),
        "UpdatedAt": go_time(peer["updated_at"]),
        "Endpoint": peer["endpoint"],
        "EndpointPublicKey": peer["endpoint_public_key"],
        "AllowedIPsStr": joined(peer["allowed_ips"]),
        "ExtraAllowedIPsStr": joined(peer["extra_allowed_ips"]),
        "PresharedKey": peer["preshared_key"] if include_secrets else "",
        "PersistentKeepalive": peer["persistent_keepalive"],
        "DisplayName": peer["display_name"],
        "Identifier": peer["identifier"],
        "UserIdentifier": peer["user_identifier"],
        "InterfaceIdentifier": peer["interface_identifier"],
    }
    if peer["disabled"] is not None:
        payload["Disabled"] = go_time(peer["disabled"])
    if peer["disabled_reason"]:
        payload["DisabledReason"] = peer["disabled_reason"]
    if peer["expires_at"] is not None:
        payload["ExpiresAt"] = go_time(peer["expires_at"])
    if peer["notes"]:
        payload["Notes"] = peer["notes"]
    payload.update(
        {
            "AutomaticallyCreated": peer["automatically_created"],
            "PrivateKey": peer["private_key"] if include_secrets else "",
            "PublicKey": peer["identifier"],
            "InterfaceType": peer["interface_type"],
            "Addresses": list(peer["addresses"] or []),
            "CheckAliveAddress": peer["check_alive_address"],
            "DnsStr": joined(peer["dns"]),
            "DnsSearchStr": joined(peer["dns_search"]),
            "Mtu": peer["mtu"],
        }
    )
    if peer["firewall_mark"]:
        payload["FirewallMark"] = peer["firewall_mark"]
    for key, column in (
        ("RoutingTable", "routing_table"),
        ("PreUp", "pre_up"),
        ("PostUp", "post_up"),
        ("PreDown", "pre_down"),
        ("PostDown", "post_down"),
    ):
        if peer[column]:
            payload[key] = peer[column]
    return payload
