"""wg-portal's webhook models as JSON-type checks: which keys each model writes, of which type.

No I/O and no clock. `matches` says whether a payload is exactly one of the models (every key the
model always writes is there, no key it does not have, each value of its JSON type); the models
are read from wg-portal's internal/app/webhooks/models at the tags services/bridge/shapes.py names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_GO_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def go_time(value: Any) -> datetime | None:
    """A Go time.Time as JSON (RFC 3339, up to nanoseconds); None when it is not one.

    Postgres keeps microseconds: the nanoseconds beyond are dropped (docs/compatibility.md).
    """
    if not isinstance(value, str):
        return None
    match = _GO_TIME.match(value)
    if match is None:
        return None
    seconds, fraction, offset = match.groups()
    text = seconds + (f".{(fraction + '000000')[:6]}" if fraction else "")
    text += "+00:00" if offset == "Z" else offset
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_uint(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_time(value: Any) -> bool:
    return go_time(value) is not None


def _is_time_or_null(value: Any) -> bool:
    return value is None or _is_time(value)


def _is_strings(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _is_auth_sources(value: Any) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(
            isinstance(v, dict)
            and set(v) == {"Source", "ProviderName"}
            and all(isinstance(x, str) for x in v.values())
            for v in value
        )
    )


Check = Callable[[Any], bool]
# A model: key -> (JSON type check, always written). Keys that are `omitempty` are not always there.
Model = Mapping[str, tuple[Check, bool]]


def _model(always: Mapping[str, Check], omitempty: Mapping[str, Check] = {}) -> Model:
    return {
        **{k: (c, True) for k, c in always.items()},
        **{k: (c, False) for k, c in omitempty.items()},
    }


def matches(payload: Any, model: Model) -> bool:
    """Exactly the model: its always-written keys, no others, each of its type."""
    return (
        isinstance(payload, dict)
        and all(key in payload for key, (_, always) in model.items() if always)
        and all(key in model and model[key][0](value) for key, value in payload.items())
    )


_BASE = {"CreatedBy": _is_str, "UpdatedBy": _is_str, "CreatedAt": _is_time, "UpdatedAt": _is_time}
_USER_OPTIONAL = {
    "Firstname": _is_str,
    "Lastname": _is_str,
    "Phone": _is_str,
    "Department": _is_str,
    "Notes": _is_str,
    "Disabled": _is_time_or_null,
    "DisabledReason": _is_str,
    "Locked": _is_time_or_null,
    "LockedReason": _is_str,
}
_USER_COMMON = {**_BASE, "Identifier": _is_str, "Email": _is_str, "IsAdmin": _is_bool}
USER_V21 = _model({**_USER_COMMON, "Source": _is_str, "ProviderName": _is_str}, _USER_OPTIONAL)
USER_V22 = _model({**_USER_COMMON, "AuthSources": _is_auth_sources}, _USER_OPTIONAL)
PEER = _model(
    {
        **_BASE,
        "Endpoint": _is_str,
        "EndpointPublicKey": _is_str,
        "AllowedIPsStr": _is_str,
        "ExtraAllowedIPsStr": _is_str,
        "PresharedKey": _is_str,
        "PersistentKeepalive": _is_int,
        "DisplayName": _is_str,
        "Identifier": _is_str,
        "UserIdentifier": _is_str,
        "InterfaceIdentifier": _is_str,
        "AutomaticallyCreated": _is_bool,
        "PrivateKey": _is_str,
        "PublicKey": _is_str,
        "InterfaceType": _is_str,
        "Addresses": _is_strings,
        "CheckAliveAddress": _is_str,
        "DnsStr": _is_str,
        "DnsSearchStr": _is_str,
        "Mtu": _is_int,
    },
    {
        "Disabled": _is_time_or_null,
        "DisabledReason": _is_str,
        "ExpiresAt": _is_time_or_null,
        "Notes": _is_str,
        "FirewallMark": _is_uint,
        "RoutingTable": _is_str,
        "PreUp": _is_str,
        "PostUp": _is_str,
        "PreDown": _is_str,
        "PostDown": _is_str,
    },
)
HOOKS = ("PreUp", "PostUp", "PreDown", "PostDown")
INTERFACE = _model(
    {
        **_BASE,
        "Identifier": _is_str,
        "PrivateKey": _is_str,
        "PublicKey": _is_str,
        "ListenPort": _is_int,
        "Addresses": _is_strings,
        "DnsStr": _is_str,
        "DnsSearchStr": _is_str,
        "Mtu": _is_int,
        "FirewallMark": _is_uint,
        "RoutingTable": _is_str,
        **dict.fromkeys(HOOKS, _is_str),
        "SaveConfig": _is_bool,
        "DisplayName": _is_str,
        "Type": _is_str,
        "DriverType": _is_str,
    },
    {
        "Disabled": _is_time_or_null,
        "DisabledReason": _is_str,
        "PeerDefNetworkStr": _is_str,
        "PeerDefDnsStr": _is_str,
        "PeerDefDnsSearchStr": _is_str,
        "PeerDefEndpoint": _is_str,
        "PeerDefAllowedIPsStr": _is_str,
        "PeerDefMtu": _is_int,
        "PeerDefPersistentKeepalive": _is_int,
        "PeerDefFirewallMark": _is_uint,
        "PeerDefRoutingTable": _is_str,
        **{f"PeerDef{hook}": _is_str for hook in HOOKS},
    },
)
METRIC_STATUS = _model(
    {
        "UpdatedAt": _is_time,
        "IsConnected": _is_bool,
        "IsPingable": _is_bool,
        "BytesReceived": _is_uint,
        "BytesTransmitted": _is_uint,
        "Endpoint": _is_str,
    },
    {
        "LastPing": _is_time_or_null,
        "LastHandshake": _is_time_or_null,
        "LastSessionStart": _is_time_or_null,
    },
)
PEER_STATE = _model(
    {
        "PeerId": _is_str,
        "IsConnected": _is_bool,
        "IsPingable": _is_bool,
        "LastPing": _is_time_or_null,
        "BytesReceived": _is_uint,
        "BytesTransmitted": _is_uint,
        "LastHandshake": _is_time_or_null,
        "Endpoint": _is_str,
        "LastSessionStart": _is_time_or_null,
    }
)
PEER_METRIC = _model(
    {"Status": lambda v: matches(v, METRIC_STATUS), "Peer": lambda v: matches(v, PEER)}
)
