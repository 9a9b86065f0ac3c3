"""The interface model of wg-portal's webhooks (internal/app/webhooks/models/interface.go).

Keys in the struct's order; the PeerDef* group, Disabled and DisabledReason are `omitempty`;
lists are `[]`, never null; `...Str` fields are joined with ",". Unlike wg-portal, DisplayName is
the display name (wg-portal sends the identifier there), and PrivateKey is "" unless
`webhook.include_secrets` is on.
"""

from __future__ import annotations

from typing import Any

from services.payloads.gotime import go_time
from services.payloads.peer import joined


def interface_payload(iface: dict[str, Any], include_secrets: bool) -> dict[str, Any]:
    """`iface` is a row of the interfaces table (column names as keys)."""
    payload: dict[str, Any] = {
        "CreatedBy": iface["created_by"],
        "UpdatedBy": iface["updated_by"],
        "CreatedAt": go_time(iface["created_at"]),
        "UpdatedAt": go_time(iface["updated_at"]),
        "Identifier": iface["identifier"],
        "PrivateKey": iface["private_key"] if include_secrets else "",
        "PublicKey": iface["public_key"],
        "ListenPort": iface["listen_port"],
        "Addresses": list(iface["addresses"] or []),
        "DnsStr": joined(iface["dns"]),
        "DnsSearchStr": joined(iface["dns_search"]),
        "Mtu": iface["mtu"],
        "FirewallMark": iface["firewall_mark"],
        "RoutingTable": iface["routing_table"],
        "PreUp": iface["pre_up"],
        "PostUp": iface["post_up"],
        "PreDown": iface["pre_down"],
        "PostDown": iface["post_down"],
        "SaveConfig": iface["save_config"],
        "DisplayName": iface["display_name"],
        "Type": iface["type"],
        "DriverType": iface["driver_type"],
    }
    if iface["disabled"] is not None:
        payload["Disabled"] = go_time(iface["disabled"])
    if iface["disabled_reason"]:
        payload["DisabledReason"] = iface["disabled_reason"]
    for key, value in (
        ("PeerDefNetworkStr", joined(iface["peer_def_network"])),
        ("PeerDefDnsStr", joined(iface["peer_def_dns"])),
        ("PeerDefDnsSearchStr", joined(iface["peer_def_dns_search"])),
        ("PeerDefEndpoint", iface["peer_def_endpoint"]),
        ("PeerDefAllowedIPsStr", joined(iface["peer_def_allowed_ips"])),
        ("PeerDefMtu", iface["peer_def_mtu"]),
        ("PeerDefPersistentKeepalive", iface["peer_def_persistent_keepalive"]),
        ("PeerDefFirewallMark", iface["peer_def_firewall_mark"]),
        ("PeerDefRoutingTable", iface["peer_def_routing_table"]),
        ("PeerDefPreUp", iface["peer_def_pre_up"]),
        ("PeerDefPostUp", iface["peer_def_post_up"]),
        ("PeerDefPreDown", iface["peer_def_pre_down"]),
        ("PeerDefPostDown", iface["peer_def_post_down"]),
    ):
        if value:
            payload[key] = value
    return payload
