"""What wg-portal sends to its `webhook.url`, recognised and turned into the mirror's states.

No I/O and no clock: `parse_envelope` takes the request body, `recognise` the parsed envelope.

The envelope is `{"event","entity","identifier","payload"}` (internal/app/webhooks/model.go, the
same in every release). A body that is not that (not JSON, other keys, an unknown event or entity
name, an event wg-portal never sends for that entity) is `Malformed`: the route answers 400.

The payload is recognised when it is exactly one of the models wg-portal has sent (reference §3,
§5): every key the model always writes is there, no key the model does not have, each value of
its JSON type. The models, from wg-portal's internal/app/webhooks/models at the tags named:
- user, v2.1.x (v2.1.0): flat `Source` and `ProviderName`;
- user, v2.2.0 and later: `AuthSources` (commit e0f6c1d);
- peer and interface: unchanged from v2.1.0-beta.1 to v2.3.1;
- `peer_metric` connect/disconnect: `{"Status": {...}, "Peer": {<peer>}}` (v2.1.0 and later);
- `peer` connect/disconnect: the PeerStatus object of wg-portal's master between be29abd and
  edb88b5 (the webhook documentation's format, and this service's default output).
Anything else (v2.0's raw Go structs carry `Password`, `ApiToken`, `Interface`, ... and ConfigOption
objects; a future release's new key) is unrecognised: `recognise` answers None and the ingest
delivers the envelope verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.bridge.go_models import (
    HOOKS,
    INTERFACE,
    PEER,
    PEER_METRIC,
    PEER_STATE,
    USER_V21,
    USER_V22,
    go_time,
    matches,
)
from services.bridge.mirror import Entity
from services.collector.rules import Publish

EVENTS = ("create", "update", "delete", "connect", "disconnect")
# Which events wg-portal sends for which entity.
EVENTS_OF: dict[str, tuple[str, ...]] = {
    "user": ("create", "update", "delete"),
    "interface": ("create", "update", "delete"),
    "peer": ("create", "update", "delete", "connect", "disconnect"),
    "peer_metric": ("connect", "disconnect"),
}
_ENVELOPE_KEYS = ("event", "entity", "identifier", "payload")


class Malformed(ValueError):
    """The body is not wg-portal's envelope; the message names what is wrong."""


@dataclass(frozen=True)
class Envelope:
    event: str
    entity: str
    identifier: str
    payload: Any
    raw: str  # the body as received, delivered as it is when the payload is not recognised


@dataclass(frozen=True)
class EntityChange:
    """A user, interface or peer as wg-portal has it now (`state` None: deleted)."""

    shape: str
    event: str
    entity: Entity
    identifier: str
    state: dict[str, Any] | None


@dataclass(frozen=True)
class StatusChange:
    """A peer connected or disconnected; `peer` is the peer's state when the payload has it."""

    shape: str
    event: Publish
    identifier: str
    status: dict[str, Any]
    peer: dict[str, Any] | None


def parse_envelope(body: bytes) -> Envelope:
    try:
        raw = body.decode("utf-8")
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Malformed(f"body: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise Malformed("body: must be a JSON object {event, entity, identifier, payload}")
    unknown = sorted(set(data) - set(_ENVELOPE_KEYS))
    if unknown:
        raise Malformed(
            f"{unknown[0]}: unknown field (the envelope has {', '.join(_ENVELOPE_KEYS)})"
        )
    for key in _ENVELOPE_KEYS:
        if key not in data:
            raise Malformed(f"{key}: is required")
    event, entity, identifier = data["event"], data["entity"], data["identifier"]
    if entity not in EVENTS_OF:
        raise Malformed(f"entity: {entity!r} is not one of {', '.join(EVENTS_OF)}")
    if event not in EVENTS:
        raise Malformed(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    if event not in EVENTS_OF[entity]:
        raise Malformed(f"event: wg-portal sends no {event!r} for entity {entity!r}")
    if not isinstance(identifier, str) or not identifier:
        raise Malformed("identifier: must be a non-empty string")
    if not isinstance(data["payload"], dict):
        raise Malformed("payload: must be a JSON object")
    return Envelope(event, entity, identifier, data["payload"], raw)


# ---------------------------------------------------------------------------------------------
# Recognising and converting
# ---------------------------------------------------------------------------------------------


def recognise(envelope: Envelope) -> EntityChange | StatusChange | None:
    """The change the envelope stands for, or None when its payload is not a known model."""
    payload, identifier = envelope.payload, envelope.identifier
    if envelope.event in ("connect", "disconnect"):
        event = Publish(envelope.event)
        if envelope.entity == "peer_metric" and matches(payload, PEER_METRIC):
            peer = payload["Peer"]
            if peer["Identifier"] != identifier:
                return None
            status = _status(payload["Status"], peer["InterfaceIdentifier"])
            return StatusChange("peer_metric", event, identifier, status, peer_state(peer))
        if envelope.entity == "peer" and matches(payload, PEER_STATE):
            if payload["PeerId"] != identifier:
                return None
            return StatusChange("peer_state", event, identifier, _status(payload, None), None)
        return None
    shape, state = _entity_state(envelope.entity, payload)
    if state is None or state["identifier"] != identifier:
        return None
    del state["identifier"]
    entity: Entity = envelope.entity  # type: ignore[assignment]  # checked by parse_envelope
    after = None if envelope.event == "delete" else state
    return EntityChange(shape, envelope.event, entity, identifier, after)


def _entity_state(entity: str, payload: Any) -> tuple[str, dict[str, Any] | None]:
    if entity == "user":
        if matches(payload, USER_V22):
            return "user_v2.2", user_state(payload, payload["AuthSources"] or [])
        if matches(payload, USER_V21):
            sources = [{"Source": payload["Source"], "ProviderName": payload["ProviderName"]}]
            return "user_v2.1", user_state(payload, sources)
    if entity == "peer" and matches(payload, PEER):
        return "peer", peer_state(payload)
    if entity == "interface" and matches(payload, INTERFACE):
        return "interface", interface_state(payload)
    return "", None


def _split(value: str) -> list[str]:
    """A `...Str` field: the list joined with "," (kept exactly, so it joins back the same)."""
    return value.split(",") if value else []


def _base(model: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "identifier": model["Identifier"],
        "created_by": model["CreatedBy"],
        "updated_by": model["UpdatedBy"],
        "created_at": go_time(model["CreatedAt"]),
        "updated_at": go_time(model["UpdatedAt"]),
    }


def user_state(model: Mapping[str, Any], sources: list[dict[str, str]]) -> dict[str, Any]:
    """The users-table columns of wg-portal's user model (never password or API token)."""
    return {
        **_base(model),
        "email": model["Email"],
        "auth_sources": [dict(s) for s in sources],
        "is_admin": model["IsAdmin"],
        "firstname": model.get("Firstname", ""),
        "lastname": model.get("Lastname", ""),
        "phone": model.get("Phone", ""),
        "department": model.get("Department", ""),
        "notes": model.get("Notes", ""),
        "disabled": go_time(model.get("Disabled")),
        "disabled_reason": model.get("DisabledReason", ""),
        "locked": go_time(model.get("Locked")),
        "locked_reason": model.get("LockedReason", ""),
    }


def peer_state(model: Mapping[str, Any]) -> dict[str, Any]:
    """The peers-table columns of wg-portal's peer model (the *_overridable flags it lacks)."""
    return {
        **_base(model),
        "endpoint": model["Endpoint"],
        "endpoint_public_key": model["EndpointPublicKey"],
        "allowed_ips": _split(model["AllowedIPsStr"]),
        "extra_allowed_ips": _split(model["ExtraAllowedIPsStr"]),
        "preshared_key": model["PresharedKey"],
        "persistent_keepalive": model["PersistentKeepalive"],
        "display_name": model["DisplayName"],
        "user_identifier": model["UserIdentifier"],
        "interface_identifier": model["InterfaceIdentifier"],
        "disabled": go_time(model.get("Disabled")),
        "disabled_reason": model.get("DisabledReason", ""),
        "expires_at": go_time(model.get("ExpiresAt")),
        "notes": model.get("Notes", ""),
        "automatically_created": model["AutomaticallyCreated"],
        "private_key": model["PrivateKey"],
        "interface_type": model["InterfaceType"],
        "addresses": list(model["Addresses"] or []),
        "check_alive_address": model["CheckAliveAddress"],
        "dns": _split(model["DnsStr"]),
        "dns_search": _split(model["DnsSearchStr"]),
        "mtu": model["Mtu"],
        "firewall_mark": model.get("FirewallMark", 0),
        "routing_table": model.get("RoutingTable", ""),
        **{_column(hook): model.get(hook, "") for hook in HOOKS},
    }


def interface_state(model: Mapping[str, Any]) -> dict[str, Any]:
    """The interfaces-table columns of wg-portal's interface model."""
    return {
        **_base(model),
        "private_key": model["PrivateKey"],
        "public_key": model["PublicKey"],
        "listen_port": model["ListenPort"],
        "addresses": list(model["Addresses"] or []),
        "dns": _split(model["DnsStr"]),
        "dns_search": _split(model["DnsSearchStr"]),
        "mtu": model["Mtu"],
        "firewall_mark": model["FirewallMark"],
        "routing_table": model["RoutingTable"],
        **{_column(hook): model[hook] for hook in HOOKS},
        "save_config": model["SaveConfig"],
        "display_name": model["DisplayName"],
        "type": model["Type"],
        "driver_type": model["DriverType"],
        "disabled": go_time(model.get("Disabled")),
        "disabled_reason": model.get("DisabledReason", ""),
        "peer_def_network": _split(model.get("PeerDefNetworkStr", "")),
        "peer_def_dns": _split(model.get("PeerDefDnsStr", "")),
        "peer_def_dns_search": _split(model.get("PeerDefDnsSearchStr", "")),
        "peer_def_endpoint": model.get("PeerDefEndpoint", ""),
        "peer_def_allowed_ips": _split(model.get("PeerDefAllowedIPsStr", "")),
        "peer_def_mtu": model.get("PeerDefMtu", 0),
        "peer_def_persistent_keepalive": model.get("PeerDefPersistentKeepalive", 0),
        "peer_def_firewall_mark": model.get("PeerDefFirewallMark", 0),
        "peer_def_routing_table": model.get("PeerDefRoutingTable", ""),
        **{f"peer_def_{_column(hook)}": model.get(f"PeerDef{hook}", "") for hook in HOOKS},
    }


def _column(hook: str) -> str:
    """PreUp -> pre_up."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", hook).lower()


def _status(model: Mapping[str, Any], interface: str | None) -> dict[str, Any]:
    """The peer_status columns of a Status or PeerStatus object."""
    status = {
        "is_pingable": model["IsPingable"],
        "last_ping": go_time(model.get("LastPing")),
        "bytes_received": model["BytesReceived"],
        "bytes_transmitted": model["BytesTransmitted"],
        "endpoint": model["Endpoint"],
        "last_handshake": go_time(model.get("LastHandshake")),
        "last_session_start": go_time(model.get("LastSessionStart")),
    }
    if "UpdatedAt" in model:
        status["updated_at"] = go_time(model["UpdatedAt"])
    if interface:
        status["interface_identifier"] = interface
    return status
