"""Field rules wg-portal declares but does not enforce: each returns the normalized value or raises
ValueError with a message that completes "<Field>: ...".

The API models call these from their validators; a bad value is a 400 naming the field.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import date

from services.domain.keys import decode_key

MAX_UINT32 = 2**32 - 1
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_=+.-]{1,15}$")
_ROUTING_TABLE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def text(value: str) -> str:
    """Any stored string: Postgres text holds neither NUL nor unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid UTF-8 text") from None
    return value


# Control (C0, C1), format (zero-width, bidi controls, soft hyphen, BOM), surrogate, private-use,
# unassigned, line and paragraph separators: invisible, or drawn as something they are not.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def visible(value: str) -> str:
    """A name people read and compare (a user identifier, an e-mail address), in NFKC form.

    `ali\u200bce` or `\u202eecila` would pass for `alice` and are refused; fullwidth letters
    (U+FF41...) become their ASCII selves.
    """
    text(value)
    for char in value:
        if unicodedata.category(char) in _INVISIBLE:
            raise ValueError(
                f"must not contain invisible or control characters (U+{ord(char):04X})"
            )
    return unicodedata.normalize("NFKC", value)


def single_line(value: str) -> str:
    """A value written into one line of a wg-quick file (hooks, names)."""
    text(value)
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value


def key(value: str) -> str:
    decode_key(value)
    return value


def optional_key(value: str) -> str:
    return key(value) if value else value


def cidr(value: str) -> str:
    """An address with its prefix length, like 10.11.12.1/24 or fd00::1/64; normalized."""
    if "/" not in value:
        raise ValueError(f"{value!r} is not in CIDR notation (like 10.11.12.1/24)")
    try:
        return str(ipaddress.ip_interface(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not in CIDR notation (like 10.11.12.1/24)") from None


def ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def hostname(value: str) -> str:
    """A DNS name (RFC 1123 labels), like wg.example.com; a trailing dot is allowed."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253 or not all(_HOST_LABEL.match(p) for p in name.split(".")):
        raise ValueError(f"{value!r} is not a DNS name")
    return value


def ip_or_hostname(value: str) -> str:
    try:
        return ip(value)
    except ValueError:
        pass
    try:
        return hostname(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither an IP address nor a DNS name") from None


def endpoint(value: str) -> str:
    """host:port with host an IPv4 address, [IPv6 address] or DNS name; '' = none."""
    if not value:
        return value
    host, sep, port = value.rpartition(":")
    message = f"{value!r} is not host:port (like vpn.example.com:51820 or [fd00::1]:51820)"
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(message)
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(message) from None
        return value
    try:
        ip_or_hostname(host)
    except ValueError:
        raise ValueError(message) from None
    if ":" in host:  # a bare IPv6 address needs brackets to be unambiguous
        raise ValueError(message)
    return value


def endpoint_with_default_port(value: str, port: int) -> str:
    """An endpoint; a host without a port gets `port`, as wg-portal normalises PeerDefEndpoint.

    wg-portal (internal/domain/interface.go, Validate) appends the interface's ListenPort to a
    PeerDefEndpoint without one. A bare IPv6 address gets brackets here (wg-portal refuses it).
    """
    try:
        return endpoint(value)
    except ValueError as error:
        if not port:
            raise error from None
        host = f"[{value}]" if ":" in value and not value.startswith("[") else value
        try:
            return endpoint(f"{host}:{port}")
        except ValueError:
            raise error from None


def interface_name(value: str) -> str:
    """A Linux network device name: 1-15 of letters, digits and _=+.-; not '.' or '..'."""
    if not _INTERFACE_NAME.match(value) or value in (".", ".."):
        raise ValueError(
            f"{value!r} is not a device name (1-15 letters, digits or _=+.-, like wg0)"
        )
    return value


def routing_table(value: str) -> str:
    """wg-quick's Table: '' (default), off, auto, a number or a table name."""
    if not value or value in ("off", "auto"):
        return value
    if value.isdigit():
        if int(value) > MAX_UINT32:
            raise ValueError(f"{value} is out of range (0 to {MAX_UINT32})")
        return value
    if not _ROUTING_TABLE.match(value):
        raise ValueError(f"{value!r} is not off, auto, a number or a table name")
    return value


def expiry_date(value: str) -> date | None:
    """'YYYY-MM-DD' or '' (never expires)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: str) -> date:
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
