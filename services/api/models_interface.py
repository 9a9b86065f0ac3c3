"""wg-portal's models.Interface (REST v1): request body, validation, response in Go's key order."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from services.api import models_fields as f
from services.domain import validation
from services.domain.interfaces import InterfaceFields


class Interface(BaseModel):
    """A WireGuard interface; Identifier is its device name. Read-only fields are ignored."""

    model_config = f.STRICT

    Identifier: Annotated[str, AfterValidator(validation.interface_name)]
    DisplayName: f.Name = ""
    Mode: Literal["server", "client", "any"]
    PrivateKey: f.Key
    PublicKey: f.Key
    Disabled: bool = False
    DisabledReason: f.Line = Field("", validate_default=True)
    SaveConfig: bool = False
    ListenPort: f.Port = Field(0, validate_default=True)
    Addresses: f.CidrList = Field(default_factory=list)
    Dns: f.IPList = Field(default_factory=list)
    DnsSearch: f.DomainList = Field(default_factory=list)
    Mtu: f.Mtu = 0
    FirewallMark: f.Mark = 0
    RoutingTable: f.RoutingTable = ""
    PreUp: f.Line = ""
    PostUp: f.Line = ""
    PreDown: f.Line = ""
    PostDown: f.Line = ""
    PeerDefNetwork: f.NetworkList = Field(default_factory=list)
    PeerDefDns: f.IPList = Field(default_factory=list)
    PeerDefDnsSearch: f.DomainList = Field(default_factory=list)
    PeerDefEndpoint: f.Line = ""  # validated with ListenPort below
    PeerDefAllowedIPs: f.CidrList = Field(default_factory=list)
    PeerDefMtu: f.Mtu = 0
    PeerDefPersistentKeepalive: f.Keepalive = 0
    PeerDefFirewallMark: f.Mark = 0
    PeerDefRoutingTable: f.RoutingTable = ""
    PeerDefPreUp: f.Line = ""
    PeerDefPostUp: f.Line = ""
    PeerDefPreDown: f.Line = ""
    PeerDefPostDown: f.Line = ""
    # read-only in wg-portal's model: clients echo them back, they are ignored
    EnabledPeers: int | None = None
    TotalPeers: int | None = None
    Filename: str | None = None

    @field_validator("DisabledReason")
    @classmethod
    def _reason(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("Disabled") and not value:
            raise ValueError("is required when Disabled is true")
        return value

    @field_validator("ListenPort")
    @classmethod
    def _port(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("Mode") == "server" and not value:
            raise ValueError("is required for a server interface (1 to 65535)")
        return value

    @field_validator("PeerDefEndpoint")
    @classmethod
    def _peer_def_endpoint(cls, value: str, info: ValidationInfo) -> str:
        return validation.endpoint_with_default_port(value, info.data.get("ListenPort") or 0)

    def fields(self) -> InterfaceFields:
        return InterfaceFields(
            identifier=self.Identifier,
            type=self.Mode,
            private_key=self.PrivateKey,
            public_key=self.PublicKey,
            display_name=self.DisplayName,
            disabled=self.Disabled,
            disabled_reason=self.DisabledReason,
            save_config=self.SaveConfig,
            listen_port=self.ListenPort,
            addresses=tuple(self.Addresses),
            dns=tuple(self.Dns),
            dns_search=tuple(self.DnsSearch),
            mtu=self.Mtu,
            firewall_mark=self.FirewallMark,
            routing_table=self.RoutingTable,
            pre_up=self.PreUp,
            post_up=self.PostUp,
            pre_down=self.PreDown,
            post_down=self.PostDown,
            peer_def_network=tuple(self.PeerDefNetwork),
            peer_def_dns=tuple(self.PeerDefDns),
            peer_def_dns_search=tuple(self.PeerDefDnsSearch),
            peer_def_endpoint=self.PeerDefEndpoint,
            peer_def_allowed_ips=tuple(self.PeerDefAllowedIPs),
            peer_def_mtu=self.PeerDefMtu,
            peer_def_persistent_keepalive=self.PeerDefPersistentKeepalive,
            peer_def_firewall_mark=self.PeerDefFirewallMark,
            peer_def_routing_table=self.PeerDefRoutingTable,
            peer_def_pre_up=self.PeerDefPreUp,
            peer_def_post_up=self.PeerDefPostUp,
            peer_def_pre_down=self.PeerDefPreDown,
            peer_def_post_down=self.PeerDefPostDown,
        )


def interface_out(row: dict[str, Any]) -> dict[str, Any]:
    """An interfaces row (with peer counts) as wg-portal's models.Interface, in Go's key order."""
    return {
        "Identifier": row["identifier"],
        "DisplayName": row["display_name"],
        "Mode": row["type"],
        "PrivateKey": row["private_key"],
        "PublicKey": row["public_key"],
        "Disabled": row["disabled"] is not None,
        "DisabledReason": row["disabled_reason"],
        "SaveConfig": row["save_config"],
        "ListenPort": row["listen_port"],
        "Addresses": list(row["addresses"]),
        "Dns": list(row["dns"]),
        "DnsSearch": list(row["dns_search"]),
        "Mtu": row["mtu"],
        "FirewallMark": row["firewall_mark"],
        "RoutingTable": row["routing_table"],
        "PreUp": row["pre_up"],
        "PostUp": row["post_up"],
        "PreDown": row["pre_down"],
        "PostDown": row["post_down"],
        "PeerDefNetwork": list(row["peer_def_network"]),
        "PeerDefDns": list(row["peer_def_dns"]),
        "PeerDefDnsSearch": list(row["peer_def_dns_search"]),
        "PeerDefEndpoint": row["peer_def_endpoint"],
        "PeerDefAllowedIPs": list(row["peer_def_allowed_ips"]),
        "PeerDefMtu": row["peer_def_mtu"],
        "PeerDefPersistentKeepalive": row["peer_def_persistent_keepalive"],
        "PeerDefFirewallMark": row["peer_def_firewall_mark"],
        "PeerDefRoutingTable": row["peer_def_routing_table"],
        "PeerDefPreUp": row["peer_def_pre_up"],
        "PeerDefPostUp": row["peer_def_post_up"],
        "PeerDefPreDown": row["peer_def_pre_down"],
        "PeerDefPostDown": row["peer_def_post_down"],
        "EnabledPeers": row.get("enabled_peers", 0),
        "TotalPeers": row.get("total_peers", 0),
        "Filename": row["identifier"] + ".conf",
    }
