"""wg-portal's models.Peer (REST v1): request body, validation, and the response in Go's key order.

Peer settings that an interface can provide defaults for are `{"Value", "Overridable"}` options
(wg-portal's ConfigOption). `Overridable` is left out of responses when false, as Go's omitempty
does.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from services.api import models_fields as f
from services.domain import validation
from services.domain.errors import Invalid
from services.domain.peers import OPTIONS, PeerFields


class _Option(BaseModel):
    model_config = f.STRICT
    Overridable: bool = False


class StringOption(_Option):
    Value: f.Line = ""


class EndpointOption(_Option):
    Value: f.WireGuardEndpoint = ""


class KeyOption(_Option):
    Value: f.OptionalKey = ""


class CidrListOption(_Option):
    Value: f.CidrList = Field(default_factory=list)


class IPListOption(_Option):
    Value: f.IPList = Field(default_factory=list)


class DomainListOption(_Option):
    Value: f.DomainList = Field(default_factory=list)


class KeepaliveOption(_Option):
    Value: f.Keepalive = 0


class MtuOption(_Option):
    Value: f.Mtu = 0


class MarkOption(_Option):
    Value: f.Mark = 0


class RoutingTableOption(_Option):
    Value: f.RoutingTable = ""


def _opt(model: type[_Option]) -> Any:
    return Field(default_factory=model)


_Null = BeforeValidator(f.none_is_empty_object)


def _date(value: str) -> str:
    validation.expiry_date(value)
    return value


def _host(value: str) -> str:
    return validation.ip_or_hostname(value) if value else value


class Peer(BaseModel):
    """A WireGuard peer; Identifier is its public key. Read-only fields are accepted and ignored."""

    model_config = f.STRICT

    Identifier: f.Key
    DisplayName: f.Name = ""
    UserIdentifier: Annotated[f.Text, Field(max_length=64)] = ""
    InterfaceIdentifier: Annotated[f.Text, Field(min_length=1, max_length=64)]
    Disabled: bool = False
    DisabledReason: f.Line = Field("", validate_default=True)
    ExpiresAt: Annotated[f.Line, AfterValidator(_date)] = ""
    Notes: f.Text = ""
    Endpoint: Annotated[EndpointOption, _Null] = _opt(EndpointOption)
    EndpointPublicKey: Annotated[KeyOption, _Null] = _opt(KeyOption)
    AllowedIPs: Annotated[CidrListOption, _Null] = _opt(CidrListOption)
    ExtraAllowedIPs: f.CidrList = Field(default_factory=list)
    PresharedKey: f.OptionalKey = ""
    PersistentKeepalive: Annotated[KeepaliveOption, _Null] = _opt(KeepaliveOption)
    PrivateKey: f.OptionalKey = ""
    PublicKey: f.OptionalKey = ""
    Mode: Literal["server", "client", "any", ""] = "client"
    Addresses: f.CidrList = Field(default_factory=list)
    CheckAliveAddress: Annotated[f.Line, AfterValidator(_host)] = ""
    Dns: Annotated[IPListOption, _Null] = _opt(IPListOption)
    DnsSearch: Annotated[DomainListOption, _Null] = _opt(DomainListOption)
    Mtu: Annotated[MtuOption, _Null] = _opt(MtuOption)
    FirewallMark: Annotated[MarkOption, _Null] = _opt(MarkOption)
    RoutingTable: Annotated[RoutingTableOption, _Null] = _opt(RoutingTableOption)
    PreUp: Annotated[StringOption, _Null] = _opt(StringOption)
    PostUp: Annotated[StringOption, _Null] = _opt(StringOption)
    PreDown: Annotated[StringOption, _Null] = _opt(StringOption)
    PostDown: Annotated[StringOption, _Null] = _opt(StringOption)
    # read-only in wg-portal's model: clients echo it back, it is ignored
    Filename: str | None = None

    @field_validator("DisabledReason")
    @classmethod
    def _reason(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("Disabled") and not value:
            raise ValueError("is required when Disabled is true")
        return value

    def fields(self, path_id: str | None = None) -> PeerFields:
        """The domain fields; `path_id` is the peer being updated (None for a create).

        The new public key is PublicKey, else Identifier. On create they must agree; on update
        Identifier may also still name the old key (a client re-keying echoes it back).
        """
        key = self.PublicKey or self.Identifier
        if path_id is None and self.PublicKey and self.PublicKey != self.Identifier:
            raise Invalid("PublicKey: must equal Identifier (a peer is identified by its key)")
        if path_id is not None and self.Identifier not in (path_id, key):
            raise Invalid("Identifier: must be the peer id of the path or the new PublicKey")
        values: dict[str, Any] = {}
        for option in OPTIONS:
            model: _Option = getattr(self, OPTION_KEYS[option])
            value = getattr(model, "Value")  # noqa: B009  (every option has one)
            values[option] = tuple(value) if isinstance(value, list) else value
            values[f"{option}_overridable"] = model.Overridable
        return PeerFields(
            identifier=key,
            interface_identifier=self.InterfaceIdentifier,
            user_identifier=self.UserIdentifier,
            display_name=self.DisplayName,
            disabled=self.Disabled,
            disabled_reason=self.DisabledReason,
            expires_at=validation.expiry_date(self.ExpiresAt),
            notes=self.Notes,
            private_key=self.PrivateKey,
            preshared_key=self.PresharedKey,
            interface_type=self.Mode or "client",
            addresses=tuple(self.Addresses),
            check_alive_address=self.CheckAliveAddress,
            extra_allowed_ips=tuple(self.ExtraAllowedIPs),
            **values,
        )


_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")
# The model key of each ConfigOption column (also what reconcile reads from wg-portal).
OPTION_KEYS = {
    "endpoint": "Endpoint",
    "endpoint_public_key": "EndpointPublicKey",
    "allowed_ips": "AllowedIPs",
    "persistent_keepalive": "PersistentKeepalive",
    "dns": "Dns",
    "dns_search": "DnsSearch",
    "mtu": "Mtu",
    "firewall_mark": "FirewallMark",
    "routing_table": "RoutingTable",
    "pre_up": "PreUp",
    "post_up": "PostUp",
    "pre_down": "PreDown",
    "post_down": "PostDown",
}


def _option(row: dict[str, Any], column: str) -> dict[str, Any]:
    value = row[column]
    out: dict[str, Any] = {"Value": list(value) if isinstance(value, list) else value}
    if row[f"{column}_overridable"]:
        out["Overridable"] = True
    return out


def config_file_name(display_name: str, identifier: str) -> str:
    """wg-portal's peer Filename: the display name made file-safe, at most 16 characters."""
    if display_name:
        return _UNSAFE.sub("", display_name.replace(" ", "_"))[:16] + ".conf"
    return "wg_" + _UNSAFE.sub("", identifier[:8]) + ".conf"


def peer_out(row: dict[str, Any]) -> dict[str, Any]:
    """A peers row (or a prepared peer) as wg-portal's models.Peer, keys in Go's order."""
    out: dict[str, Any] = {
        "Identifier": row["identifier"],
        "DisplayName": row["display_name"],
        "UserIdentifier": row["user_identifier"],
        "InterfaceIdentifier": row["interface_identifier"],
        "Disabled": row["disabled"] is not None,
        "DisabledReason": row["disabled_reason"],
    }
    if row["expires_at"] is not None:
        out["ExpiresAt"] = row["expires_at"].astimezone(UTC).date().isoformat()
    out.update(
        {
            "Notes": row["notes"],
            "Endpoint": _option(row, "endpoint"),
            "EndpointPublicKey": _option(row, "endpoint_public_key"),
            "AllowedIPs": _option(row, "allowed_ips"),
            "ExtraAllowedIPs": list(row["extra_allowed_ips"]),
            "PresharedKey": row["preshared_key"],
            "PersistentKeepalive": _option(row, "persistent_keepalive"),
            "PrivateKey": row["private_key"],
            "PublicKey": row["identifier"],
            "Mode": row["interface_type"],
            "Addresses": list(row["addresses"]),
            "CheckAliveAddress": row["check_alive_address"],
            "Dns": _option(row, "dns"),
            "DnsSearch": _option(row, "dns_search"),
            "Mtu": _option(row, "mtu"),
            "FirewallMark": _option(row, "firewall_mark"),
            "RoutingTable": _option(row, "routing_table"),
            "PreUp": _option(row, "pre_up"),
            "PostUp": _option(row, "post_up"),
            "PreDown": _option(row, "pre_down"),
            "PostDown": _option(row, "post_down"),
            "Filename": config_file_name(row["display_name"], row["identifier"]),
        }
    )
    return out
