"""Settings: the YAML file + environment + defaults, turned into one frozen object in one place.

`KEYS` is the whole configuration: one row per key with its coercion (and so its bounds) and its
default, stated once. Adding a key is one row, plus a field on the section's dataclass when code
reads it (rows without a field are still checked, and so are known keys).

wg-portal's rules hold (reference §1a): each key has a variable `WG_PORTAL_<SECTION>_<KEY>` that
sets its *default*; a value in the file wins; `${VAR}` (and `${VAR:-x}`, see services.envsubst)
is replaced from the environment. `DATABASE_URL` and `REDIS_URL` override everything. A key we do
not know in a section we read is refused with the closest known key; other sections are
wg-portal's and ignored. Every error names the key it is about, so start-up stops with one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from services import config_values as v
from services.config_file import find_config_file, read_file, refuse_unknown
from services.config_keys import (
    BY_NAME,
    DEFAULT_ENDPOINT,
    ENDPOINT_BY_NAME,
    ENDPOINT_INHERITS,
    ENDPOINT_KEYS,
    ENTITIES,
    EVENTS,
    INHERITED,
    KEYS,
    Key,
    default,
)
from services.config_values import ConfigError, Listen
from services.db.namespace import in_schema
from services.host_resolution import check_hosts_resolve
from services.masking import public_url
from services.wg_portal_keys import WG_PORTAL_KEYS

__all__ = [
    "DEFAULT_ENDPOINT",
    "ENTITIES",
    "EVENTS",
    "KEYS",
    "Advanced",
    "ConfigError",
    "Core",
    "Endpoint",
    "Ingest",
    "Key",
    "Listen",
    "Settings",
    "Statistics",
    "Webhook",
    "default",
    "find_config_file",
    "load_settings",
    "read_keys",
]


@dataclass(frozen=True)
class Endpoint:
    """One webhook receiver. `default` is the one made from `webhook.url`."""

    name: str
    url: str
    authentication: str = default("endpoint.authentication")
    signing_secret: str = default("webhook.signing_secret")
    timeout: float = default("webhook.timeout")
    retry_schedule: tuple[float, ...] = default("webhook.retry_schedule")
    max_in_flight: int = default("webhook.max_in_flight")
    events: frozenset[str] = default("endpoint.events")  # empty = all
    entities: frozenset[str] = default("endpoint.entities")  # empty = all
    headers: tuple[tuple[str, str], ...] = default("endpoint.headers")  # values are secrets
    signing_key: str = default("endpoint.signing_key")  # whsk_...: Ed25519 `v1a,` signatures
    propagate_trace: bool = default("endpoint.propagate_trace")  # send W3C traceparent
    # Runtime endpoints (services/endpoints/): rotated-out secrets and where it comes from.
    previous_secrets: tuple[tuple[str, float], ...] = ()  # (whsec_..., valid until, Unix s)
    source: str = "config"  # "config" (the file) or "api" (stored in Postgres)

    def wants(self, event: str, entity: str) -> bool:
        return (not self.events or event in self.events) and (
            not self.entities or entity in self.entities
        )

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"Endpoint(name={self.name!r}, url={public_url(self.url)!r})"


@dataclass(frozen=True)
class Core:
    admin_user: str = default("core.admin_user")
    admin_password: str = default("core.admin_password")
    admin_api_token: str = default("core.admin_api_token")
    delete_peer_after_user_deleted: bool = default("core.delete_peer_after_user_deleted")
    re_enable_peer_after_user_enable: bool = default("core.re_enable_peer_after_user_enable")

    def __repr__(self) -> str:
        return f"Core(admin_user={self.admin_user!r})"


@dataclass(frozen=True)
class Advanced:
    start_listen_port: int = default("advanced.start_listen_port")
    start_cidr_v4: str = default("advanced.start_cidr_v4")
    start_cidr_v6: str = default("advanced.start_cidr_v6")
    use_ip_v6: bool = default("advanced.use_ip_v6")
    api_admin_only: bool = default("advanced.api_admin_only")
    log_level: str = default("advanced.log_level")  # Python's name: DEBUG, INFO, ...
    log_json: bool = default("advanced.log_json")
    expiry_check_interval: float = default("advanced.expiry_check_interval")


@dataclass(frozen=True)
class Statistics:
    collect_peer_data: bool = default("statistics.collect_peer_data")
    data_collection_interval: float = default("statistics.data_collection_interval")
    use_ping_checks: bool = default("statistics.use_ping_checks")
    disconnect_grace: float = default("statistics.disconnect_grace")
    wg_command: str = default("statistics.wg_command")


@dataclass(frozen=True)
class Webhook:
    endpoints: tuple[Endpoint, ...] = ()
    # webhook.<ENDPOINT_INHERITS> and webhook.headers: what an endpoint (from the file or the
    # endpoints API) leaves unset
    inherited: Mapping[str, Any] = field(
        default_factory=lambda: {name: default(f"webhook.{name}") for name in INHERITED}
    )
    include_secrets: bool = default("webhook.include_secrets")
    peer_state_format: str = default("webhook.peer_state_format")
    retention: float = default("webhook.retention")
    disable_after: float = default("webhook.disable_after")
    block_private_networks: bool = default("webhook.block_private_networks")
    batch_size: int = default("webhook.batch_size")
    lease_grace: float = default("webhook.lease_grace")
    poll_interval: float = default("webhook.poll_interval")

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)


@dataclass(frozen=True)
class Portal:
    """A running wg-portal to reconcile with; no `url` = wg-webhooks is the system of record.
    The URL is the operator's own, so the webhook SSRF rules do not apply to it."""

    url: str = default("portal.url")
    api_user: str = default("portal.api_user")
    api_token: str = default("portal.api_token")
    reconcile_interval: float = default("portal.reconcile_interval")

    def __repr__(self) -> str:  # the token never reaches a log line or a traceback
        return f"Portal(url={self.url!r}, api_user={self.api_user!r})"


def _portal(values: Mapping[str, Any]) -> Portal:
    portal: Portal = _section(Portal, values, "portal")
    for name in ("api_user", "api_token"):
        if portal.url and not getattr(portal, name).strip():
            raise ConfigError(
                f"portal.{name}",
                "is required with portal.url (a wg-portal admin and its API token)",
            )
    return portal


@dataclass(frozen=True)
class Ingest:
    """`POST /ingest/wg-portal`: the Authorization wg-portal sends (its webhook.authentication)."""

    authentication: str = default("ingest.authentication")  # "" = the route is off (404)

    def __repr__(self) -> str:  # the value is a credential
        return f"Ingest(enabled={bool(self.authentication)})"


@dataclass(frozen=True)
class Settings:
    core: Core = field(default_factory=Core)
    advanced: Advanced = field(default_factory=Advanced)
    statistics: Statistics = field(default_factory=Statistics)
    webhook: Webhook = field(default_factory=Webhook)
    portal: Portal = field(default_factory=Portal)
    ingest: Ingest = field(default_factory=Ingest)
    rekey_timeout_interval: float = default("backend.rekey_timeout_interval")
    database_dsn: str = default("database.dsn")  # "" = embedded; else bound to database_schema
    database_schema: str = default("database.schema")
    database_note: str = ""  # what start-up says about the database choice, "" when nothing
    redis_url: str = default("redis.url")  # "" = embedded Redis
    web: Listen = field(default_factory=lambda: default("web.listening_address"))
    flower: Listen = field(default_factory=lambda: default("flower.listening_address"))
    flower_basic_auth: str = default("flower.basic_auth")
    data_dir: Path = field(default_factory=lambda: Path(".wg-webhooks"))
    source: str = ""  # the file the settings came from, "" when none

    def __repr__(self) -> str:
        return f"Settings(source={self.source!r}, endpoints={list(self.webhook.endpoints)!r})"


# ---------------------------------------------------------------------------------------------
# Reading the table (the file itself: services.config_file)
# ---------------------------------------------------------------------------------------------


def _sections(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The sections we read, each checked for unknown keys; wg-portal's other sections ignored."""
    sections: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        if key.section in sections:
            continue
        given = data.get(key.section)
        if given is not None and not isinstance(given, dict):
            raise ConfigError(key.section, "must be a mapping")
        known = {k.name for k in KEYS if k.section == key.section}
        known |= WG_PORTAL_KEYS.get(key.section, frozenset())
        if key.section == "webhook":
            known.add("endpoints")
        refuse_unknown(key.section, given or {}, known)
        sections[key.section] = given or {}
    return sections


def read_keys(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Every key of `KEYS` as its typed value, by dotted name."""
    sections = _sections(data)
    return {key.dotted: key.read(sections[key.section].get(key.name), env) for key in KEYS}


def _section(cls: type[Any], values: Mapping[str, Any], section: str, **extra: Any) -> Any:
    """`cls` built from the values of `section` that it has a field for."""
    wanted = {f"{section}.{f.name}": f.name for f in fields(cls) if f.name not in extra}
    return cls(
        **{name: values[dotted] for dotted, name in wanted.items() if dotted in values}, **extra
    )


def _endpoints(given: Any, values: Mapping[str, Any]) -> list[tuple[str, Endpoint]]:
    """The endpoint made from webhook.url, then each of webhook.endpoints, with its URL's key."""
    inherited = inherited_by_endpoints(values)
    found: list[tuple[str, Endpoint]] = []
    if values["webhook.url"]:
        authentication = values["webhook.authentication"] or values["webhook.secret"]
        endpoint = _build_endpoint(
            DEFAULT_ENDPOINT, values["webhook.url"], authentication, inherited, {}, "webhook"
        )
        found.append(("webhook.url", endpoint))
    if given is None:
        given = []
    if not isinstance(given, list):
        raise ConfigError("webhook.endpoints", "must be a list of endpoints")
    for index, item in enumerate(given):
        where = f"webhook.endpoints[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(where, "must be a mapping with at least name and url")
        endpoint = endpoint_from(item, inherited, where)
        if any(e.name == endpoint.name for _, e in found):
            raise ConfigError(f"{where}.name", f"endpoint name {endpoint.name!r} is used twice")
        found.append((f"{where}.url", endpoint))
    return found


def inherited_by_endpoints(values: Mapping[str, Any]) -> dict[str, Any]:
    """What an endpoint leaves unset: webhook.<ENDPOINT_INHERITS>, and webhook.headers."""
    return {name: values[f"webhook.{name}"] for name in INHERITED}


def endpoint_from(item: Mapping[str, Any], inherited: Mapping[str, Any], where: str) -> Endpoint:
    """One entry of webhook.endpoints (its config keys) -> Endpoint, errors naming `where.key`.

    The config file and the endpoints API (services/endpoints/spec.py) both build through here,
    so a value is refused the same way whichever way it arrives.
    """
    refuse_unknown(where, item, set(ENDPOINT_BY_NAME) | set(ENDPOINT_INHERITS))
    own = {k.name: k.read(item.get(k.name), {}, where) for k in ENDPOINT_KEYS}
    for name in ENDPOINT_INHERITS:
        key = BY_NAME[f"webhook.{name}"]
        own[name] = key.read(item[name], {}, where) if item.get(name) is not None else None
    if not own["url"]:
        raise ConfigError(f"{where}.url", "is required")
    own["headers"] = merge_headers(inherited.get("headers", ()), own["headers"])
    overrides = {k: val for k, val in own.items() if val is not None}
    authentication = own["authentication"] or own["secret"]
    return _build_endpoint(own["name"], own["url"], authentication, inherited, overrides, where)


def merge_headers(
    defaults: tuple[tuple[str, str], ...], own: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """The endpoint's headers over webhook.headers (names compare case-insensitively)."""
    mine = {n.lower() for n, _ in own}
    return tuple((n, val) for n, val in defaults if n.lower() not in mine) + own


def _build_endpoint(
    name: str,
    url: str,
    authentication: str,
    inherited: Mapping[str, Any],
    own: Mapping[str, Any],
    where: str,
) -> Endpoint:
    merged = {**inherited, **own, "name": name, "url": url, "authentication": authentication}
    endpoint = Endpoint(**{f.name: merged[f.name] for f in fields(Endpoint) if f.name in merged})
    refused = v.owned_header(endpoint.headers, bool(authentication), endpoint.propagate_trace)
    if refused:
        raise ConfigError(f"{where}.headers", refused)
    return endpoint


def _database(values: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Our Postgres (DATABASE_URL, database.dsn, or "" = embedded), bound to database.schema.

    With wg-portal's default `database.type: sqlite` (or mysql, mssql) the file is a wg-portal
    config: its `database.dsn` is wg-portal's database, ours only when it is a Postgres URL."""
    db_type, dsn, schema = (values[f"database.{k}"] for k in ("type", "dsn", "schema"))
    portal_own = db_type in v.PORTAL_DATABASES
    from_env = bool(env.get("DATABASE_URL"))
    if portal_own and not from_env and not dsn.startswith(("postgres://", "postgresql://")):
        dsn = ""
    note = ""
    if portal_own:
        where = "DATABASE_URL" if from_env else "database.dsn" if dsn else "the embedded Postgres"
        note = (
            f"database.type is {db_type} (wg-portal's own database): wg-webhooks keeps its "
            f"tables in Postgres, from {where}, schema {schema}"
        )
    return {
        "database_dsn": in_schema(dsn, schema),
        "database_schema": schema,
        "database_note": note,
    }


def load_settings(
    path: str | None = None, env: Mapping[str, str] | None = None, *, resolve_hosts: bool = False
) -> Settings:
    """Read the config file (if any) and the environment into one frozen Settings.

    With `resolve_hosts` (what a process does at start-up) every webhook host name must
    resolve too (`check_hosts_resolve`); without it no DNS query is made.
    """
    env = os.environ if env is None else env
    found = find_config_file(path, env)
    data = read_file(found, env) if found is not None else {}
    values = read_keys(data, env)
    endpoints = _endpoints((data.get("webhook") or {}).get("endpoints"), values)
    if resolve_hosts:
        check_hosts_resolve([(key, endpoint.url) for key, endpoint in endpoints])
    webhook = _section(
        Webhook,
        values,
        "webhook",
        endpoints=tuple(e for _, e in endpoints),
        inherited=inherited_by_endpoints(values),
    )
    return Settings(
        core=_section(Core, values, "core"),
        advanced=_section(Advanced, values, "advanced"),
        statistics=_section(Statistics, values, "statistics"),
        webhook=webhook,
        portal=_portal(values),
        ingest=_section(Ingest, values, "ingest"),
        rekey_timeout_interval=values["backend.rekey_timeout_interval"],
        **_database(values, env),
        redis_url=values["redis.url"],
        web=values["web.listening_address"],
        flower=values["flower.listening_address"],
        flower_basic_auth=values["flower.basic_auth"],
        data_dir=Path(env.get("WG_WEBHOOKS_DATA_DIR") or ".wg-webhooks").absolute(),
        source=str(found) if found is not None else "",
    )
