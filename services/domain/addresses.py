"""Picking free networks, addresses and ports the way wg-portal's `prepare` routes do."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable

from services.domain.errors import Invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def network_of(cidr: str) -> Network:
    return ipaddress.ip_interface(cidr).network


def address_of(cidr: str) -> Address:
    return ipaddress.ip_interface(cidr).ip


def first_free_network(start: str, used: Iterable[Network]) -> Network:
    """`start`, or the first following subnet of the same size that overlaps none in `used`."""
    candidate = ipaddress.ip_network(start, strict=False)
    taken = [n for n in used if n.version == candidate.version]
    limit = 2**candidate.max_prefixlen
    while any(candidate.overlaps(n) for n in taken):
        following = int(candidate.network_address) + candidate.num_addresses
        if following + candidate.num_addresses > limit:
            raise Invalid(f"no free IPv{candidate.version} network left after {start}")
        candidate = ipaddress.ip_network((following, candidate.prefixlen))
    return candidate


def first_host(network: Network) -> str:
    """The interface's own address in `network`: the first one after the network address."""
    return f"{network.network_address + 1}/{network.prefixlen}"


def first_free_host(network: Network, used: Collection[Address]) -> str:
    """The first usable address of `network` not in `used`, as a host route (/32 or /128)."""
    for host in network.hosts():
        if host not in used:
            return f"{host}/{network.max_prefixlen}"
    raise Invalid(f"no free address left in {network}")


def first_free_port(start: int, used: Collection[int]) -> int:
    port = start
    while port in used:
        port += 1
    if port > 65535:
        raise Invalid(f"no free listen port left from {start}")
    return port


def first_free_name(used: Collection[str], prefix: str = "wg") -> str:
    number = 0
    while f"{prefix}{number}" in used:
        number += 1
    return f"{prefix}{number}"
