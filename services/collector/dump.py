"""Parse the output of `wg show all dump` into typed, frozen values.

The format is wireguard-tools' `dump_print`: tab-separated, one line per interface followed by
one line per peer of that interface, each starting with the interface name::

    wg0  <private-key>  <public-key>  <listen-port>  <fwmark>
    wg0  <public-key>  <preshared-key>  <endpoint>  <allowed-ips>  <latest-handshake>
         <transfer-rx>  <transfer-tx>  <persistent-keepalive>

`wg` prints `(none)` for a missing key, endpoint or allowed-ips list, `off` for a zero fwmark or
keepalive, the fwmark in hex (`0x...`), and the handshake as Unix seconds with 0 for never.

The parser is strict: the collector turns these values into connect/disconnect events, so a line
it does not understand must stop the run with a `DumpError` naming the line, never be guessed at.
Key values are never echoed in errors or reprs: a private key must not end up in a log.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

__all__ = ["Dump", "DumpError", "InterfaceDump", "PeerDump", "parse_dump"]

_NONE = "(none)"
_OFF = "off"
_INTERFACE_FIELDS = 5
_PEER_FIELDS = 9
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_UINT32_MAX = 2**32 - 1
_UINT64_MAX = 2**64 - 1


class DumpError(ValueError):
    """A line of `wg show all dump` output that is not what `wg` prints.

    `line` is the 1-based line number in the text given to `parse_dump`.
    """

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"wg dump line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class PeerDump:
    """One peer as WireGuard reports it.

    `transfer_rx` is what the server received from the peer (wg-portal's BytesReceived) and
    `transfer_tx` what it sent to the peer (BytesTransmitted); both are absolute counters that
    restart at 0 when the peer or interface is re-created.
    """

    interface: str
    public_key: str
    preshared_key: str | None = field(repr=False)
    endpoint: str | None
    allowed_ips: tuple[str, ...]
    latest_handshake: datetime | None
    transfer_rx: int
    transfer_tx: int
    persistent_keepalive: int | None


@dataclass(frozen=True)
class InterfaceDump:
    """One interface and its peers, keyed by public key (in the order `wg` printed them)."""

    name: str
    private_key: str | None = field(repr=False)
    public_key: str | None
    listen_port: int
    fwmark: int | None
    peers: Mapping[str, PeerDump]


@dataclass(frozen=True)
class Dump:
    """Everything one `wg show all dump` reported, interfaces keyed by name."""

    interfaces: Mapping[str, InterfaceDump]

    def peers(self) -> Iterator[PeerDump]:
        """Every peer of every interface, in the order `wg` printed them."""
        for interface in self.interfaces.values():
            yield from interface.peers.values()


def parse_dump(text: str) -> Dump:
    """Parse `wg show all dump` output; raises `DumpError` naming the first bad line.

    Blank lines (such as the final newline) are ignored. An empty text is a valid dump with no
    interfaces (WireGuard is running nothing).
    """
    heads: dict[str, _InterfaceHead] = {}
    peers: dict[str, dict[str, PeerDump]] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == _INTERFACE_FIELDS:
            head = _parse_interface(number, fields)
            if head.name in heads:
                raise DumpError(number, f"interface {head.name!r} is listed twice")
            heads[head.name] = head
            peers[head.name] = {}
        elif len(fields) == _PEER_FIELDS:
            peer = _parse_peer(number, fields)
            if peer.interface not in heads:
                raise DumpError(
                    number, f"peer of interface {peer.interface!r} comes before that interface"
                )
            if peer.public_key in peers[peer.interface]:
                raise DumpError(
                    number,
                    f"peer {peer.public_key} is listed twice on interface {peer.interface!r}",
                )
            peers[peer.interface][peer.public_key] = peer
        else:
            raise DumpError(number, _field_count_problem(len(fields)))
    return Dump(
        interfaces=MappingProxyType(
            {
                name: InterfaceDump(
                    name=head.name,
                    private_key=head.private_key,
                    public_key=head.public_key,
                    listen_port=head.listen_port,
                    fwmark=head.fwmark,
                    peers=MappingProxyType(peers[name]),
                )
                for name, head in heads.items()
            }
        )
    )


@dataclass(frozen=True)
class _InterfaceHead:
    name: str
    private_key: str | None = field(repr=False)
    public_key: str | None
    listen_port: int
    fwmark: int | None


def _field_count_problem(count: int) -> str:
    if count in (_INTERFACE_FIELDS - 1, _PEER_FIELDS - 1):
        return (
            f"{count} tab-separated fields, without the interface column: this looks like "
            "`wg show <interface> dump`; the collector reads `wg show all dump`"
        )
    return (
        f"{count} tab-separated fields; expected {_INTERFACE_FIELDS} (interface) "
        f"or {_PEER_FIELDS} (peer)"
    )


def _parse_interface(number: int, fields: list[str]) -> _InterfaceHead:
    name, private_key, public_key, listen_port, fwmark = fields
    return _InterfaceHead(
        name=_interface_name(number, name),
        private_key=_optional_key(number, "private key", private_key),
        public_key=_optional_key(number, "public key", public_key),
        listen_port=_uint(number, "listen port", listen_port, 65535),
        fwmark=_fwmark(number, fwmark),
    )


def _parse_peer(number: int, fields: list[str]) -> PeerDump:
    (
        name,
        public_key,
        preshared_key,
        endpoint,
        allowed_ips,
        handshake,
        rx,
        tx,
        keepalive,
    ) = fields
    return PeerDump(
        interface=_interface_name(number, name),
        public_key=_key(number, "peer public key", public_key),
        preshared_key=_optional_key(number, "preshared key", preshared_key),
        endpoint=_endpoint(number, endpoint),
        allowed_ips=_allowed_ips(number, allowed_ips),
        latest_handshake=_handshake(number, handshake),
        transfer_rx=_uint(number, "transfer-rx", rx, _UINT64_MAX),
        transfer_tx=_uint(number, "transfer-tx", tx, _UINT64_MAX),
        persistent_keepalive=_keepalive(number, keepalive),
    )


def _interface_name(number: int, value: str) -> str:
    # Linux interface names: 1..15 bytes, no whitespace or slash.
    if not value or len(value.encode()) > 15 or "/" in value or any(c.isspace() for c in value):
        raise DumpError(number, f"interface name {value!r} is not a network interface name")
    return value


def _key(number: int, what: str, value: str) -> str:
    """A WireGuard key: 32 bytes in standard base64 (44 characters). Never echoed back."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(value) != 44 or len(decoded) != 32:
        raise DumpError(number, f"{what} is not a base64 WireGuard key (32 bytes)")
    return value


def _optional_key(number: int, what: str, value: str) -> str | None:
    return None if value == _NONE else _key(number, what, value)


def _uint(number: int, what: str, value: str, maximum: int) -> int:
    # int() alone would also take "+5", " 5", "1_000" and non-ASCII digits: wg prints none of them.
    if _DIGITS.fullmatch(value) is None or int(value) > maximum:
        raise DumpError(number, f"{what} {value!r} is not a whole number from 0 to {maximum}")
    return int(value)


def _fwmark(number: int, value: str) -> int | None:
    if value == _OFF:
        return None
    # wg prints the mark in hex; decimal is accepted for hand-written dump files.
    if _HEX.fullmatch(value) is not None:
        mark = int(value, 16)
    elif _DIGITS.fullmatch(value) is not None:
        mark = int(value)
    else:
        raise DumpError(number, f"fwmark {value!r} is neither 'off' nor a number")
    if mark > _UINT32_MAX:
        raise DumpError(number, f"fwmark {value!r} does not fit in 32 bits")
    return mark or None


def _endpoint(number: int, value: str) -> str | None:
    """`(none)`, `1.2.3.4:51820` or `[fd00::1]:51820`; kept as printed, the payload's form."""
    if value == _NONE:
        return None
    host, sep, port = value.rpartition(":")
    bad = DumpError(number, f"endpoint {value!r} is not 'IPv4:port', '[IPv6]:port' or '(none)'")
    if not sep or _DIGITS.fullmatch(port) is None or not 0 < int(port) <= 65535:
        raise bad
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise bad from None
    if bracketed != (address.version == 6):
        raise bad
    return value


def _allowed_ips(number: int, value: str) -> tuple[str, ...]:
    if value == _NONE:
        return ()
    networks = value.split(",")
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise DumpError(number, f"allowed IP {network!r} is not a CIDR network") from None
        if "/" not in network:
            raise DumpError(number, f"allowed IP {network!r} has no prefix length")
    return tuple(networks)


def _handshake(number: int, value: str) -> datetime | None:
    seconds = _uint(number, "latest handshake", value, _UINT64_MAX)
    if seconds == 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise DumpError(number, f"latest handshake {value!r} is not a representable time") from None


def _keepalive(number: int, value: str) -> int | None:
    if value == _OFF:
        return None
    seconds = _uint(number, "persistent keepalive", value, 65535)
    return seconds or None
