"""Where webhooks may never go: the SSRF address policy, one rule for every check.

Link-local and cloud metadata addresses are always refused; with
`webhook.block_private_networks` so are loopback, private and other non-global ones. An IPv6
address that carries an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by both. The workers
apply it to each address a connection is about to use (workers/ssrf.py, workers/http.py); the
endpoints API applies it to an address literal in a URL before storing it. No I/O here.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

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


def url_refusal(url: str, block_private: bool) -> str | None:
    """The refusal for an address literal as the host of `url` (a name is checked on connect)."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    return refusal(address, block_private)
