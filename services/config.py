"""Settings: the YAML file + environment + defaults, turned into one frozen object in one place.

wg-portal's rules hold for the keys that come from wg-portal (reference §1a): each key has a
variable `WG_PORTAL_<SECTION>_<KEY>` that sets its *default*; a value in the file wins; `${VAR}`
inside the file is replaced from the environment. `DATABASE_URL` and `REDIS_URL` override
everything. Every error names the key it is about, so start-up can stop with one clear line.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from services.durations import format_duration, parse_duration

EVENTS = frozenset({"create", "update", "delete", "connect", "disconnect"})
ENTITIES = frozenset({"user", "peer", "interface", "peer_metric"})
PEER_STATE_FORMATS = ("peer", "peer_metric")
DEFAULT_ENDPOINT = "default"
_MAX_DURATION = 366 * 86400.0  # a year and a day: anything longer is a typo, not a setting
# Per-key bounds (seconds): beyond them a value is a typo or a unit mix-up, not a setting.
_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
_TIMEOUT = (0.1, 10 * _MINUTE)  # a whole webhook request; leases and task limits grow with it
_RETRY_STEP = 7 * _DAY
_LEASE_GRACE = _HOUR
_POLL = (0.01, 10 * _MINUTE)
_COLLECT = (0.1, _DAY)
_REKEY = (1.0, _DAY)
_GRACE = _DAY

log = logging.getLogger(__name__)
_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ConfigError(ValueError):
    """A configuration value that cannot be used; `key` is its dotted name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Endpoint:
    """One webhook receiver. `default` is the one made from `webhook.url`."""

    name: str
    url: str
    authentication: str = ""
    signing_secret: str = ""
    timeout: float = 10.0
    retry_schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    max_in_flight: int = 16
    events: frozenset[str] = frozenset()  # empty = all
    entities: frozenset[str] = frozenset()  # empty = all
    # Runtime endpoints (services/endpoints/): extra headers, Ed25519 key, rotation, origin.
    headers: tuple[tuple[str, str], ...] = ()  # (name, value): values are secrets
    signing_key: str = ""  # whsk_...: Ed25519 `v1a,` signatures
    propagate_trace: bool = False  # send W3C traceparent (the delivery path reads this flag)
    previous_secrets: tuple[tuple[str, float], ...] = ()  # (whsec_..., valid until, Unix s)
    source: str = "config"  # "config" (the file) or "api" (stored in Postgres)

    def wants(self, event: str, entity: str) -> bool:
        return (not self.events or event in self.events) and (
            not self.entities or entity in self.entities
        )

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"Endpoint(name={self.name!r}, url={self.url!r})"


@dataclass(frozen=True)
class Core:
    admin_user: str = "admin@wgportal.local"
    admin_password: str = "wgportal-default"  # noqa: S105  (wg-portal's documented default)
    admin_api_token: str = ""
    delete_peer_after_user_deleted: bool = False
    re_enable_peer_after_user_enable: bool = True

    def __repr__(self) -> str:
        return f"Core(admin_user={self.admin_user!r})"


@dataclass(frozen=True)
class Advanced:
    start_listen_port: int = 51820
    start_cidr_v4: str = "10.11.12.0/24"
    start_cidr_v6: str = "fdfd:d3ad:c0de:1234::0/64"
    use_ip_v6: bool = True
    api_admin_only: bool = True


@dataclass(frozen=True)
class Statistics:
    collect_peer_data: bool = True
    data_collection_interval: float = 60.0
    use_ping_checks: bool = False
    disconnect_grace: float = 0.0
    wg_command: str = "wg show all dump"


@dataclass(frozen=True)
class Webhook:
    endpoints: tuple[Endpoint, ...] = ()
    # timeout, retry_schedule, max_in_flight, signing_secret, headers of `webhook:`: what an
    # endpoint (from the file or the API) leaves unset
    endpoint_defaults: Endpoint = field(
        default_factory=lambda: Endpoint(DEFAULT_ENDPOINT, "http://unused.invalid")
    )
    include_secrets: bool = False
    peer_state_format: str = "peer"
    retention: float = 30 * 86400.0
    disable_after: float = 5 * 86400.0
    block_private_networks: bool = False
    batch_size: int = 50
    # Extra time a lease allows beyond the longest POST: covers waiting in the queue.
    lease_grace: float = 60.0
    # The relay polls this often even without NOTIFY (a lost notification costs this much).
    poll_interval: float = 1.0

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    core: Core = field(default_factory=Core)
    advanced: Advanced = field(default_factory=Advanced)
    statistics: Statistics = field(default_factory=Statistics)
    webhook: Webhook = field(default_factory=Webhook)
    rekey_timeout_interval: float = 180.0
    database_dsn: str = ""  # "" = embedded Postgres
    redis_url: str = ""  # "" = embedded Redis
    web: Listen = field(default_factory=lambda: Listen("127.0.0.1", 8888))
    flower: Listen = field(default_factory=lambda: Listen("127.0.0.1", 5555))
    flower_basic_auth: str = ""
    data_dir: Path = field(default_factory=lambda: Path(".wg-webhooks"))
    source: str = ""  # the file the settings came from, "" when none

    def __repr__(self) -> str:
        return f"Settings(source={self.source!r}, endpoints={list(self.webhook.endpoints)!r})"


# ---------------------------------------------------------------------------------------------
# Reading: file discovery, ${VAR} substitution, WG_PORTAL_* defaults
# ---------------------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, env: Mapping[str, str]) -> str:
    """`${VAR}` replaced from `env` (unset = empty), as wg-portal does in its config file."""
    return _VAR.sub(lambda m: env.get(m.group(1), ""), text)


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """`--config`, else WG_WEBHOOKS_CONFIG, else WG_PORTAL_CONFIG, else the usual places."""
    for candidate, key in (
        (explicit, "--config"),
        (env.get("WG_WEBHOOKS_CONFIG"), "WG_WEBHOOKS_CONFIG"),
        (env.get("WG_PORTAL_CONFIG"), "WG_PORTAL_CONFIG"),
    ):
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise ConfigError(key, f"config file {candidate} does not exist")
            return path
    for name in ("config/config.yaml", "config/config.yml", "config.yml"):
        if Path(name).is_file():
            return Path(name)
    return None


def _read_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc.strerror}") from None
    text = substitute(text, env)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(str(path), f"not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "the top level must be a mapping of sections")
    return data


class _Reader:
    """Looks up `section.key`: the file's value, else WG_PORTAL_SECTION_KEY, else the default."""

    def __init__(self, data: dict[str, Any], env: Mapping[str, str]) -> None:
        self.data = data
        self.env = env

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(name, "must be a mapping")
        return value

    def raw(self, section: str, key: str, default: Any) -> Any:
        sect = self.section(section)
        if key in sect and sect[key] is not None:
            return sect[key]
        env_value = self.env.get(f"WG_PORTAL_{section.upper()}_{key.upper()}")
        if env_value is not None:
            return env_value
        return default

    def get(self, section: str, key: str, default: Any, coerce: Callable[[Any], Any]) -> Any:
        value = self.raw(section, key, default)
        try:
            return coerce(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{section}.{key}", str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Coercions: each raises ValueError with a message that completes "section.key: ..."
# ---------------------------------------------------------------------------------------------


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def _int_range(low: int, high: int) -> Callable[[Any], int]:
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


def _duration(
    allow_zero: bool = True, low: float = 0.0, high: float = _MAX_DURATION
) -> Callable[[Any], float]:
    """A Go duration within [low, high] (0 passes when `allow_zero`, whatever `low` is)."""

    def coerce(value: Any) -> float:
        seconds = parse_duration(value)
        if seconds > _MAX_DURATION:
            raise ValueError(f"{value!r} is longer than a year")
        if seconds == 0:
            if not allow_zero:
                raise ValueError(f"{value!r} must be more than zero")
            return seconds
        if seconds > high:
            raise ValueError(f"{value!r} is absurdly long here: at most {format_duration(high)}")
        if seconds < low:
            raise ValueError(f"{value!r} is absurdly short here: at least {format_duration(low)}")
        return seconds

    return coerce


def _str(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("must be a string")
    return str(value)


def _cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR network (like 10.11.12.0/24)") from None


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{text!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"{text!r} has no host")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has a bad port") from None
    return text


def _listen(value: Any) -> Listen:
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not host:port (like 127.0.0.1:8888)")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104  (":8888" means every address, as in wg-portal)
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{text!r} has a bad port") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is out of range (1 to 65535)")
    return Listen(host, number)


def _schedule(value: Any) -> tuple[float, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of durations (like [5s, 5m, 30m])")
    steps = []
    for item in value:
        seconds = parse_duration(item)
        if seconds > _MAX_DURATION:
            raise ValueError(f"{item!r} is longer than a year")
        if seconds > _RETRY_STEP:
            raise ValueError(
                f"{item!r} is absurdly long for one step: at most {format_duration(_RETRY_STEP)}"
            )
        steps.append(seconds)
    if len(steps) > 50:
        raise ValueError("has more than 50 steps")
    return tuple(steps)


def _names(allowed: frozenset[str], what: str) -> Callable[[Any], frozenset[str]]:
    def coerce(value: Any) -> frozenset[str]:
        if value is None or value == "":
            return frozenset()
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ValueError(f"must be a list of {what} names")
        names = frozenset(str(v) for v in value)
        unknown = sorted(names - allowed)
        if unknown:
            raise ValueError(
                f"unknown {what} {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
            )
        return names

    return coerce


# ---------------------------------------------------------------------------------------------
# Building the Settings
# ---------------------------------------------------------------------------------------------


def _endpoint_from(
    key: str, item: Mapping[str, Any], defaults: Endpoint, name: str | None = None
) -> Endpoint:
    return endpoint_from(item, defaults, key_of=lambda k: f"{key}.{k}", name=name)


ENDPOINT_KEYS = (
    "name",
    "url",
    "authentication",
    "secret",
    "signing_secret",
    "signing_key",
    "timeout",
    "retry_schedule",
    "max_in_flight",
    "events",
    "entities",
    "headers",
    "propagate_trace",
)


def endpoint_from(
    item: Mapping[str, Any],
    defaults: Endpoint,
    *,
    key_of: Callable[[str], str],
    name: str | None = None,
) -> Endpoint:
    """One `endpoints:` entry (config keys) -> Endpoint; errors name `key_of(key)`.

    The config file and the endpoints API both come through here, so a value is refused the
    same way whichever way it arrives.
    """

    def field_(name_: str, default: Any, coerce: Callable[[Any], Any]) -> Any:
        value = item.get(name_, None)
        if value is None:
            return default
        try:
            return coerce(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(key_of(name_), str(exc)) from None

    for extra in sorted(set(item) - set(ENDPOINT_KEYS)):
        raise ConfigError(key_of(extra), f"unknown key (known: {', '.join(sorted(ENDPOINT_KEYS))})")
    endpoint_name = name if name is not None else field_("name", "", _str).strip()
    if not _ENDPOINT_NAME.match(endpoint_name):
        raise ConfigError(
            key_of("name"), f"{endpoint_name!r} must be 1-63 letters, digits, '.', '_' or '-'"
        )
    url = field_("url", "", _url)
    if not url:
        raise ConfigError(key_of("url"), "is required")
    authentication = field_("authentication", "", _str) or field_("secret", "", _str)
    propagate_trace = field_("propagate_trace", defaults.propagate_trace, _bool)
    headers = merge_headers(defaults.headers, field_("headers", (), _headers))
    refused = owned_header(headers, bool(authentication), propagate_trace)
    if refused:
        raise ConfigError(key_of("headers"), refused)
    return Endpoint(
        name=endpoint_name,
        url=url,
        authentication=authentication,
        signing_secret=field_("signing_secret", defaults.signing_secret, _signing_secret),
        timeout=field_("timeout", defaults.timeout, _duration(False, *_TIMEOUT)),
        retry_schedule=field_("retry_schedule", defaults.retry_schedule, _schedule),
        max_in_flight=field_("max_in_flight", defaults.max_in_flight, _int_range(1, 1024)),
        events=field_("events", frozenset(), _names(EVENTS, "event")),
        entities=field_("entities", frozenset(), _names(ENTITIES, "entity")),
        headers=headers,
        signing_key=field_("signing_key", defaults.signing_key, _signing_key),
        propagate_trace=propagate_trace,
    )


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # an RFC 9110 token
_OWNED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    """`{Name: value}`: names are HTTP tokens, values one line of text (never shown back)."""
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of header names to values")
    pairs = []
    for header, text in value.items():
        header = str(header).strip()
        if not _HEADER_NAME.match(header):
            raise ValueError(f"{header!r} is not a valid header name")
        if isinstance(text, dict | list) or text is None:
            raise ValueError(f"the value of {header} must be a string")
        text = str(text)
        if "\r" in text or "\n" in text or "\x00" in text:
            raise ValueError(f"the value of {header} must be one line")
        pairs.append((header, text))
    return tuple(pairs)


def merge_headers(
    defaults: tuple[tuple[str, str], ...], own: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """The endpoint's headers over `webhook.headers` (names compare case-insensitively)."""
    mine = {n.lower() for n, _ in own}
    return tuple((n, v) for n, v in defaults if n.lower() not in mine) + own


def owned_header(
    headers: tuple[tuple[str, str], ...], authentication: bool, propagate_trace: bool
) -> str:
    """Why one of `headers` may not be set (the service sends it itself), or ""."""
    for header, _ in headers:
        lower = header.lower()
        if lower in _OWNED_HEADERS or lower.startswith("webhook-"):
            return f"{header} is set by wg-webhooks itself and cannot be overridden"
        if lower == "authorization" and authentication:
            return "Authorization is set from authentication; set one or the other"
        if lower == "traceparent" and propagate_trace:
            return "traceparent is sent by propagate_trace; set one or the other"
    return ""


def rotation_grace(value: Any) -> float:
    """How long a rotated-out signing secret keeps signing: 0 (stop at once) to 30 days."""
    return _duration(True, 0, 30 * _DAY)(value)


def _signing_key(value: Any) -> str:
    from services.signing_keys import check_signing_key

    text = str(value).strip()
    if text:
        check_signing_key(text)
    return text


def _signing_secret(value: Any) -> str:
    text = str(value).strip()
    if not text:
        return ""
    import base64
    import binascii

    raw = text.removeprefix("whsec_")
    try:
        if len(base64.b64decode(raw, validate=True)) < 16:
            raise ValueError("is shorter than 16 bytes")
    except binascii.Error:
        raise ValueError("must be whsec_ followed by base64 (Standard Webhooks)") from None
    return text


def _webhook(reader: _Reader) -> tuple[Webhook, list[tuple[str, str]]]:
    """The webhook section, and each endpoint URL with the key it came from."""
    section = "webhook"
    defaults = Endpoint(
        name=DEFAULT_ENDPOINT,
        url="http://unused.invalid",
        timeout=reader.get(section, "timeout", "10s", _duration(False, *_TIMEOUT)),
        retry_schedule=reader.get(section, "retry_schedule", "5s 5m 30m 2h 5h 10h 10h", _schedule),
        max_in_flight=reader.get(section, "max_in_flight", 16, _int_range(1, 1024)),
        signing_secret=reader.get(section, "signing_secret", "", _signing_secret),
        headers=reader.get(section, "headers", {}, _headers),
    )
    endpoints: list[Endpoint] = []
    urls: list[tuple[str, str]] = []
    url = reader.get(section, "url", "", _url)
    if url:
        urls.append((f"{section}.url", url))
        authentication = reader.get(section, "authentication", "", _str) or reader.get(
            section, "secret", "", _str
        )
        endpoints.append(
            Endpoint(
                name=DEFAULT_ENDPOINT,
                url=url,
                authentication=authentication,
                signing_secret=defaults.signing_secret,
                timeout=defaults.timeout,
                retry_schedule=defaults.retry_schedule,
                max_in_flight=defaults.max_in_flight,
                headers=defaults.headers,
            )
        )
    refused = owned_header(defaults.headers, bool(endpoints and endpoints[0].authentication), False)
    if refused:
        raise ConfigError(f"{section}.headers", refused)
    listed = reader.section(section).get("endpoints") or []
    if not isinstance(listed, list):
        raise ConfigError(f"{section}.endpoints", "must be a list of endpoints")
    for index, item in enumerate(listed):
        key = f"{section}.endpoints[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "must be a mapping with at least name and url")
        endpoint = _endpoint_from(key, item, defaults)
        if any(e.name == endpoint.name for e in endpoints):
            raise ConfigError(f"{key}.name", f"endpoint name {endpoint.name!r} is used twice")
        endpoints.append(endpoint)
        urls.append((f"{key}.url", endpoint.url))
    state_format = reader.get(section, "peer_state_format", "peer", _str)
    if state_format not in PEER_STATE_FORMATS:
        raise ConfigError(
            f"{section}.peer_state_format",
            f"{state_format!r} is not one of {', '.join(PEER_STATE_FORMATS)}",
        )
    webhook = Webhook(
        endpoints=tuple(endpoints),
        endpoint_defaults=defaults,
        include_secrets=reader.get(section, "include_secrets", False, _bool),
        peer_state_format=state_format,
        retention=reader.get(section, "retention", "720h", _duration(allow_zero=False)),
        disable_after=reader.get(section, "disable_after", "120h", _duration()),
        block_private_networks=reader.get(section, "block_private_networks", False, _bool),
        batch_size=reader.get(section, "batch_size", 50, _int_range(1, 1000)),
        lease_grace=reader.get(section, "lease_grace", "60s", _duration(False, 0, _LEASE_GRACE)),
        poll_interval=reader.get(section, "poll_interval", "1s", _duration(False, *_POLL)),
    )
    return webhook, urls


def _database_dsn(reader: _Reader, env: Mapping[str, str]) -> str:
    db_type = reader.get("database", "type", "postgres", _str).strip().lower()
    if db_type not in ("postgres", "postgresql"):
        raise ConfigError(
            "database.type",
            f"{db_type!r} is not supported: wg-webhooks keeps its outbox in Postgres "
            "(set database.type: postgres and database.dsn, or leave both unset for the "
            "embedded Postgres)",
        )
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    return str(reader.get("database", "dsn", "", _str)).strip()


RESOLVE_TIMEOUT = 5.0  # seconds for all of a config's host lookups together


def check_hosts_resolve(urls: Sequence[tuple[str, str]], timeout: float = RESOLVE_TIMEOUT) -> None:
    """Every (key, URL)'s host name resolves now (one query to the system resolver each).

    A name that does not exist (a typo, a `.invalid` name, a placeholder) stops start-up naming
    its key. A resolver that cannot be reached (EAI_AGAIN: an offline start) or does not answer
    within `timeout` is only logged: the workers resolve again at every connection, and a DNS
    outage must not keep the service from starting. Names under `.invalid` are refused without
    a query (RFC 6761 §6.4: they never resolve).
    """
    lookups: dict[str, str] = {}  # host -> the first key naming it
    for key, url in urls:
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host)
            continue  # an address needs no lookup
        except ValueError:
            pass
        if host == "invalid" or host.endswith(".invalid"):
            raise ConfigError(key, f"host {host!r} does not resolve (a .invalid name)")
        lookups.setdefault(host, key)
    if not lookups:
        return
    # The lookups run in daemon threads: a resolver that never answers cannot hang start-up.
    results: dict[str, BaseException | None] = {}
    threads = [
        threading.Thread(target=_lookup, args=(host, results), daemon=True, name=f"resolve {host}")
        for host in lookups
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for host, key in lookups.items():
        if host not in results:
            log.warning(
                "%s: no answer resolving %s within %gs; starting anyway", key, host, timeout
            )
            continue
        error = results[host]
        if error is None:
            continue
        if isinstance(error, socket.gaierror):
            if error.errno == socket.EAI_AGAIN:
                log.warning("%s: cannot resolve %s now (%s); starting anyway", key, host, error)
                continue
            raise ConfigError(key, f"host {host!r} does not resolve ({error.strerror})")
        if isinstance(error, UnicodeError):
            raise ConfigError(key, f"host {host!r} is not a valid host name")
        raise ConfigError(key, f"host {host!r} cannot be resolved ({error})")


def _lookup(host: str, results: dict[str, BaseException | None]) -> None:
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        results[host] = exc
    else:
        results[host] = None


def load_settings(
    path: str | None = None, env: Mapping[str, str] | None = None, *, resolve_hosts: bool = False
) -> Settings:
    """Read the config file (if any) and the environment into one frozen Settings.

    With `resolve_hosts` (what a process does at start-up) every webhook host name must
    resolve too (`check_hosts_resolve`); without it no DNS query is made.
    """
    env = os.environ if env is None else env
    found = find_config_file(path, env)
    data = _read_file(found, env) if found is not None else {}
    reader = _Reader(data, env)
    core = Core(
        admin_user=reader.get("core", "admin_user", "admin@wgportal.local", _str),
        admin_password=reader.get("core", "admin_password", "wgportal-default", _str),
        admin_api_token=reader.get("core", "admin_api_token", "", _str),
        delete_peer_after_user_deleted=reader.get(
            "core", "delete_peer_after_user_deleted", False, _bool
        ),
        re_enable_peer_after_user_enable=reader.get(
            "core", "re_enable_peer_after_user_enable", True, _bool
        ),
    )
    advanced = Advanced(
        start_listen_port=reader.get("advanced", "start_listen_port", 51820, _int_range(1, 65535)),
        start_cidr_v4=reader.get("advanced", "start_cidr_v4", "10.11.12.0/24", _cidr),
        start_cidr_v6=reader.get("advanced", "start_cidr_v6", "fdfd:d3ad:c0de:1234::0/64", _cidr),
        use_ip_v6=reader.get("advanced", "use_ip_v6", True, _bool),
        api_admin_only=reader.get("advanced", "api_admin_only", True, _bool),
    )
    statistics = Statistics(
        collect_peer_data=reader.get("statistics", "collect_peer_data", True, _bool),
        data_collection_interval=reader.get(
            "statistics", "data_collection_interval", "1m", _duration(False, *_COLLECT)
        ),
        use_ping_checks=reader.get("statistics", "use_ping_checks", False, _bool),
        disconnect_grace=reader.get(
            "statistics", "disconnect_grace", "0", _duration(True, 0, _GRACE)
        ),
        wg_command=reader.get("statistics", "wg_command", "wg show all dump", _str),
    )
    redis_url = env.get("REDIS_URL") or reader.get("redis", "url", "", _str).strip()
    if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("redis.url", f"{redis_url!r} must start with redis:// or rediss://")
    flower_auth = reader.get("flower", "basic_auth", "", _str)
    if flower_auth and ":" not in flower_auth:
        raise ConfigError("flower.basic_auth", "must be user:password")
    webhook, urls = _webhook(reader)
    if resolve_hosts:
        check_hosts_resolve(urls)
    return Settings(
        core=core,
        advanced=advanced,
        statistics=statistics,
        webhook=webhook,
        rekey_timeout_interval=reader.get(
            "backend", "rekey_timeout_interval", "180s", _duration(False, *_REKEY)
        ),
        database_dsn=_database_dsn(reader, env),
        redis_url=redis_url,
        web=reader.get("web", "listening_address", "127.0.0.1:8888", _listen),
        flower=reader.get("flower", "listening_address", "127.0.0.1:5555", _listen),
        flower_basic_auth=flower_auth,
        data_dir=Path(env.get("WG_WEBHOOKS_DATA_DIR") or ".wg-webhooks").absolute(),
        source=str(found) if found is not None else "",
    )
