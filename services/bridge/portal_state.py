"""wg-portal's REST API v1 models as the columns `mirror.apply` stores.

The API's models say less than the tables hold: a bool where the table keeps the time a user or
peer was disabled or locked, a date where it keeps the expiry time, a user's source names without
their provider. Where the model cannot tell, the stored value is kept (`current`, the row as it
is now, or None for a new one), so a state read from the API equals the stored row unless
wg-portal really changed: the no-op rule holds and a round without changes sends nothing.
Columns the model does not have at all (`driver_type`, `automatically_created`, passwords,
API tokens) are left out: mirror keeps their stored value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.api.models_peer import OPTION_KEYS

Row = Mapping[str, Any] | None

# A date formatted from a time in any zone (UTC-12 to UTC+14) names a UTC day this close.
_ZONE_BEFORE = timedelta(hours=14)
_ZONE_AFTER = timedelta(hours=36)


def _since(flag: bool, current: Row, column: str, now: datetime) -> datetime | None:
    """A disabled/locked time: the stored one while the flag stays on, `now` when it turns on."""
    if not flag:
        return None
    kept = current[column] if current is not None else None
    return kept if kept is not None else now


def expiry_time(text: str, current: Row) -> datetime | None:
    """ExpiresAt ("YYYY-MM-DD", omitempty) as the stored time: the stored one when it falls on
    that date in some time zone (wg-portal formats the time in its own zone), else UTC midnight."""
    if not text:
        return None
    day = date.fromisoformat(text)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    kept = current["expires_at"] if current is not None else None
    if kept is not None and midnight - _ZONE_BEFORE <= kept < midnight + _ZONE_AFTER:
        return kept  # type: ignore[no-any-return]
    return midnight


def _auth_sources(model: Mapping[str, Any], current: Row) -> list[dict[str, str]]:
    """v2.2+ lists source names (`AuthSources`); v2.0/v2.1 have `Source` + `ProviderName`."""
    if "AuthSources" in model:
        names = list(model["AuthSources"])
        stored = list(current["auth_sources"] or []) if current is not None else []
        if [s.get("Source") for s in stored] == names:
            return stored  # same sources: keep their provider names, which the list lacks
        return [{"Source": name, "ProviderName": ""} for name in names]
    return [{"Source": model["Source"], "ProviderName": model.get("ProviderName", "")}]


def user_state(model: Mapping[str, Any], current: Row, now: datetime) -> dict[str, Any]:
    return {
        "email": model["Email"],
        "auth_sources": _auth_sources(model, current),
        "is_admin": model["IsAdmin"],
        "firstname": model["Firstname"],
        "lastname": model["Lastname"],
        "phone": model["Phone"],
        "department": model["Department"],
        "notes": model["Notes"],
        "disabled": _since(model["Disabled"], current, "disabled", now),
        "disabled_reason": model["DisabledReason"],
        "locked": _since(model["Locked"], current, "locked", now),
        "locked_reason": model["LockedReason"],
    }


_INTERFACE_COLUMNS = {
    "display_name": "DisplayName",
    "type": "Mode",
    "private_key": "PrivateKey",
    "public_key": "PublicKey",
    "disabled_reason": "DisabledReason",
    "save_config": "SaveConfig",
    "listen_port": "ListenPort",
    "addresses": "Addresses",
    "dns": "Dns",
    "dns_search": "DnsSearch",
    "mtu": "Mtu",
    "firewall_mark": "FirewallMark",
    "routing_table": "RoutingTable",
    "pre_up": "PreUp",
    "post_up": "PostUp",
    "pre_down": "PreDown",
    "post_down": "PostDown",
    "peer_def_network": "PeerDefNetwork",
    "peer_def_dns": "PeerDefDns",
    "peer_def_dns_search": "PeerDefDnsSearch",
    "peer_def_endpoint": "PeerDefEndpoint",
    "peer_def_allowed_ips": "PeerDefAllowedIPs",
    "peer_def_mtu": "PeerDefMtu",
    "peer_def_persistent_keepalive": "PeerDefPersistentKeepalive",
    "peer_def_firewall_mark": "PeerDefFirewallMark",
    "peer_def_routing_table": "PeerDefRoutingTable",
    "peer_def_pre_up": "PeerDefPreUp",
    "peer_def_post_up": "PeerDefPostUp",
    "peer_def_pre_down": "PeerDefPreDown",
    "peer_def_post_down": "PeerDefPostDown",
}


def interface_state(model: Mapping[str, Any], current: Row, now: datetime) -> dict[str, Any]:
    state = {column: _plain(model[key]) for column, key in _INTERFACE_COLUMNS.items()}
    state["disabled"] = _since(model["Disabled"], current, "disabled", now)
    return state


_PEER_COLUMNS = {
    "interface_identifier": "InterfaceIdentifier",
    "user_identifier": "UserIdentifier",
    "display_name": "DisplayName",
    "disabled_reason": "DisabledReason",
    "notes": "Notes",
    "private_key": "PrivateKey",
    "preshared_key": "PresharedKey",
    "interface_type": "Mode",
    "addresses": "Addresses",
    "check_alive_address": "CheckAliveAddress",
    "extra_allowed_ips": "ExtraAllowedIPs",
}


def peer_state(model: Mapping[str, Any], current: Row, now: datetime) -> dict[str, Any]:
    state = {column: _plain(model[key]) for column, key in _PEER_COLUMNS.items()}
    state["disabled"] = _since(model["Disabled"], current, "disabled", now)
    state["expires_at"] = expiry_time(model.get("ExpiresAt", ""), current)
    for column, key in OPTION_KEYS.items():
        state[column] = _plain(model[key]["Value"])
        state[f"{column}_overridable"] = bool(model[key].get("Overridable", False))
    return state


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


StateOf = Callable[[Mapping[str, Any], Row, datetime], dict[str, Any]]
STATE: dict[str, StateOf] = {"user": user_state, "interface": interface_state, "peer": peer_state}
