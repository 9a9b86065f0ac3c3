"""Field types the REST v1 models share: each checks its value for real (wg-portal does not).

A failing check is a 400 whose message names the field (and the list index), e.g.
`Addresses.1: '10.0.0.300/24' is not in CIDR notation (like 10.11.12.1/24)`.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from services.domain import validation

# Strict (a number is not a string, "1" is not a number, as Go's decoder), unknown fields refused.
STRICT = ConfigDict(extra="forbid", strict=True, str_max_length=4096)
MAX_ITEMS = 256
MAX_UINT32 = validation.MAX_UINT32


def _none_is_empty_list(value: Any) -> Any:
    """Go encodes a nil slice as null; take it back as []."""
    return [] if value is None else value


def none_is_empty_object(value: Any) -> Any:
    return {} if value is None else value


def _network(value: str) -> str:
    validation.cidr(value)
    return str(ipaddress.ip_network(value.strip(), strict=False))


def _mtu(value: int) -> int:
    if value and not 576 <= value <= 9000:
        raise ValueError(f"{value} is out of range (576 to 9000, or 0 for the default)")
    return value


Text = Annotated[str, AfterValidator(validation.text)]
Line = Annotated[str, AfterValidator(validation.single_line)]
Name = Annotated[str, Field(max_length=64), AfterValidator(validation.single_line)]
Key = Annotated[str, AfterValidator(validation.key)]
OptionalKey = Annotated[str, AfterValidator(validation.optional_key)]
Cidr = Annotated[str, AfterValidator(validation.cidr)]
Network = Annotated[str, AfterValidator(_network)]
IP = Annotated[str, AfterValidator(validation.ip)]
Domain = Annotated[str, AfterValidator(validation.hostname)]
WireGuardEndpoint = Annotated[str, AfterValidator(validation.endpoint)]
RoutingTable = Annotated[str, AfterValidator(validation.routing_table)]
Port = Annotated[int, Field(ge=0, le=65535)]
Mtu = Annotated[int, Field(ge=0, le=9000), AfterValidator(_mtu)]
Keepalive = Annotated[int, Field(ge=0, le=65535)]
Mark = Annotated[int, Field(ge=0, le=MAX_UINT32)]

CidrList = Annotated[list[Cidr], Field(max_length=MAX_ITEMS), BeforeValidator(_none_is_empty_list)]
NetworkList = Annotated[
    list[Network], Field(max_length=MAX_ITEMS), BeforeValidator(_none_is_empty_list)
]
IPList = Annotated[list[IP], Field(max_length=MAX_ITEMS), BeforeValidator(_none_is_empty_list)]
DomainList = Annotated[
    list[Domain], Field(max_length=MAX_ITEMS), BeforeValidator(_none_is_empty_list)
]
