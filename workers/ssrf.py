"""Where webhooks may not go: the SSRF rules, as pure functions of an address and the policy.

Link-local and cloud metadata addresses are always refused; with
`webhook.block_private_networks` so are loopback, private and other non-global ones. An IPv6
address that carries an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by both. The rule itself is
`services.address_policy` (the endpoints API applies it too, before storing a URL). No I/O here:
the send path (`workers.http`) resolves a host itself and asks these rules about each address
it is about to connect to, so a rebinding DNS server cannot slip past an earlier check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from services.address_policy import refusal, url_refusal


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
    why = url_refusal(url, block_private)
    return f"blocked: {why}" if why else None
