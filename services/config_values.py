"""What a configuration value may be: one coercion per kind, each with its bounds.

Each coercion turns what YAML or an environment variable gave into the typed value, or raises
ValueError with a message that completes "section.key: ..." (the reader adds the key).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.db.namespace import schema_problem
from services.durations import format_duration, parse_duration
from services.masking import public_url
from services.signing_keys import check_signing_key

Coerce = Callable[[Any], Any]

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
MAX_DURATION = 366 * DAY  # a year and a day: anything longer is a typo, not a setting
RETRY_STEP = 7 * DAY  # the longest single step of a retry schedule
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
LOG_LEVELS = {  # wg-portal's names (internal/logger.go) -> Python's level
    "trace": "DEBUG",
    "debug": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "error": "ERROR",
}


class ConfigError(ValueError):
    """A configuration value that cannot be used; `key` is its dotted name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def integer(low: int, high: int) -> Coerce:
    def coerce(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"{number} is out of range ({low} to {high})")
        return number

    return coerce


def duration(low: float = 0.0, high: float = MAX_DURATION, *, zero: bool = True) -> Coerce:
    """A Go duration within [low, high]; 0 passes when `zero`, whatever `low` is."""

    def coerce(value: Any) -> float:
        seconds = parse_duration(value)
        if seconds > MAX_DURATION:
            raise ValueError(f"{value!r} is longer than a year")
        if seconds == 0:
            if not zero:
                raise ValueError(f"{value!r} must be more than zero")
            return seconds
        if seconds > high:
            raise ValueError(f"{value!r} is absurdly long here: at most {format_duration(high)}")
        if seconds < low:
            raise ValueError(f"{value!r} is absurdly short here: at least {format_duration(low)}")
        return seconds

    return coerce


def text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("must be a string")
    return str(value)


def stripped(value: Any) -> str:
    return text(value).strip()


def one_of(allowed: Iterable[str]) -> Coerce:
    choices = tuple(allowed)

    def coerce(value: Any) -> str:
        chosen = text(value)
        if chosen not in choices:
            raise ValueError(f"{chosen!r} is not one of {', '.join(choices)}")
        return chosen

    return coerce


def log_level(value: Any) -> str:
    """wg-portal's level name (any case) as Python's level name."""
    name = stripped(value).lower()
    if name not in LOG_LEVELS:
        raise ValueError(f"{value!r} is not a log level (one of {', '.join(LOG_LEVELS)})")
    return LOG_LEVELS[name]


def cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR network (like 10.11.12.0/24)") from None


def url(value: Any) -> str:
    """An http(s) URL with a host, or "" for none."""
    given = str(value).strip()
    if not given:
        return ""
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{public_url(given)!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{public_url(given)!r} has no host")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"{public_url(given)!r} has a bad port") from None
    return given


def redis_url(value: Any) -> str:
    given = stripped(value)
    if given and urlsplit(given).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{public_url(given)!r} must start with redis://, rediss:// or unix://")
    return given


# wg-portal's database types; with any but postgres its `database.dsn` is wg-portal's own.
PORTAL_DATABASES = ("sqlite", "mysql", "mssql")


def database_type(value: Any) -> str:
    given = stripped(value).lower()
    if given not in ("postgres", "postgresql", *PORTAL_DATABASES):
        raise ValueError(
            f"{given!r} is not supported: wg-webhooks keeps its outbox in Postgres "
            "(set database.type: postgres and database.dsn, or leave both unset for the "
            "embedded Postgres)"
        )
    return given


def schema_name(value: Any) -> str:
    given = stripped(value)
    problem = schema_problem(given)
    if problem:
        raise ValueError(problem)
    return given


def user_password(value: Any) -> str:
    given = text(value)
    if given and ":" not in given:
        raise ValueError("must be user:password")
    return given


def listen(value: Any) -> Listen:
    given = str(value).strip()
    host, sep, port = given.rpartition(":")
    if not sep:
        raise ValueError(f"{given!r} is not host:port (like 127.0.0.1:8888)")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104  (":8888" means every address, as in wg-portal)
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{given!r} has a bad port") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is out of range (1 to 65535)")
    return Listen(host, number)


def schedule(value: Any) -> tuple[float, ...]:
    """A retry schedule: a list (or a space/comma separated string) of durations."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of durations (like [5s, 5m, 30m])")
    steps = []
    for item in value:
        seconds = parse_duration(item)
        if seconds > MAX_DURATION:
            raise ValueError(f"{item!r} is longer than a year")
        if seconds > RETRY_STEP:
            raise ValueError(
                f"{item!r} is absurdly long for one step: at most {format_duration(RETRY_STEP)}"
            )
        steps.append(seconds)
    if len(steps) > 50:
        raise ValueError("has more than 50 steps")
    return tuple(steps)


def names(allowed: frozenset[str], what: str) -> Coerce:
    """A list (or comma separated string) of names out of `allowed`; empty = none given."""

    def coerce(value: Any) -> frozenset[str]:
        if value is None or value == "":
            return frozenset()
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ValueError(f"must be a list of {what} names")
        given = frozenset(str(v) for v in value)
        unknown = sorted(given - allowed)
        if unknown:
            raise ValueError(
                f"unknown {what} {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
            )
        return given

    return coerce


def endpoint_name(value: Any) -> str:
    given = stripped(value)
    if not _NAME.match(given):
        raise ValueError(f"{given!r} must be 1-63 letters, digits, '.', '_' or '-'")
    return given


def signing_secret(value: Any) -> str:
    """Empty, or a Standard Webhooks secret: whsec_ followed by base64 of at least 16 bytes."""
    given = str(value).strip()
    if not given:
        return ""
    raw = given.removeprefix("whsec_")
    try:
        if len(base64.b64decode(raw, validate=True)) < 16:
            raise ValueError("is shorter than 16 bytes")
    except binascii.Error:
        raise ValueError("must be whsec_ followed by base64 (Standard Webhooks)") from None
    return given


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # an RFC 9110 token
# Sent by the service itself (or hop-by-hop): an endpoint's `headers` may not set them.
_OWNED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)


def headers(value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping of header name to value, as sorted pairs (hashable, frozen). Names are HTTP
    tokens, values one line; a message names the header, never its value (a secret)."""
    if value is None or value == "":
        return ()
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of header name to value")
    pairs = []
    for name, given in value.items():
        name = str(name).strip()
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if isinstance(given, dict | list) or given is None:
            raise ValueError(f"header {name!r} must have a string value")
        if any(c in str(given) for c in "\r\n\x00"):
            raise ValueError(f"header {name!r} must have a one-line value")
        pairs.append((name, str(given)))
    return tuple(sorted(pairs))


def owned_header(
    pairs: tuple[tuple[str, str], ...], authentication: bool, propagate_trace: bool
) -> str:
    """Why one of `pairs` may not be set (the service sends that header itself), or ""."""
    for name, _ in pairs:
        lower = name.lower()
        if lower in _OWNED_HEADERS or lower.startswith("webhook-"):
            return f"{name} is set by wg-webhooks itself and cannot be overridden"
        if lower == "authorization" and authentication:
            return "Authorization is sent from authentication: set one or the other"
        if lower == "traceparent" and propagate_trace:
            return "traceparent is sent by propagate_trace: set one or the other"
    return ""


def signing_key(value: Any) -> str:
    """Empty, or a Standard Webhooks Ed25519 key: whsk_ followed by base64 (32 or 64 bytes)."""
    given = str(value).strip()
    if given:
        check_signing_key(given)
    return given
