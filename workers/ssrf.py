"""Where webhooks may not go: the SSRF rules, as pure functions of an address and the policy.

Link-local and cloud metadata addresses are always refused; with
`webhook.block_private_networks` so are loopback, private and other non-global ones. An IPv6
address that carries an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by both. No I/O here:
the send path (`workers.http`) resolves a host itself and asks these rules about each address
it is about to connect to, so a rebinding DNS server cannot slip past an earlier check.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services outside 169.254.0.0/16: AWS's IPv6 endpoint, Alibaba Cloud's.
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def refusal(address: IPAddress, block_private: bool) -> str | None:
    """Why webhooks must not go to `address`, or None when they may."""
    inner = embedded_ipv4(address)
    shown = str(address) if inner == address else f"{address} ({inner})"
    for candidate in {address, inner}:
        if candidate in _METADATA:
            return f"{shown} is a cloud metadata address"
        if candidate.is_link_local:
            return f"{shown} is link-local"
    if not block_private:
        return None
    for candidate in {address, inner}:
        if candidate.is_loopback:
            return f"{shown} is loopback (webhook.block_private_networks)"
        if not candidate.is_global:
            return f"{shown} is not a public address (webhook.block_private_networks)"
    return None


def allowed_addresses(literals: Iterable[str], block_private: bool) -> tuple[list[str], str | None]:
    """Of resolved address literals (a scope like `%eth0` allowed), the ones that may be
    connected to, each once in the order given, and the first refusal among the others."""
    allowed: list[str] = []
    refused: str | None = None
    for literal in literals:
        why = refusal(ipaddress.ip_address(literal.split("%")[0]), block_private)
        if why is None:
            allowed.append(literal)
        else:
            refused = refused or why
    return list(dict.fromkeys(allowed)), refused


def blocked_literal(url: str, block_private: bool) -> str | None:
    """The refusal for an address literal in `url` (checked before any proxy is involved)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    why = refusal(address, block_private)
    return f"blocked: {why}" if why else None
