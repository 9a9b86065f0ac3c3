"""The configuration's keys: one row per key with its coercion (and so its bounds) and its default.

services/config.py reads this table into the settings; adding a key is one row here (plus a field
on the section's dataclass there, when code reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services import config_values as v
from services.config_values import DAY, HOUR, MINUTE, ConfigError
from services.db.namespace import DEFAULT_SCHEMA

EVENTS = frozenset({"create", "update", "delete", "connect", "disconnect"})
ENTITIES = frozenset({"user", "peer", "interface", "peer_metric"})
PEER_STATE_FORMATS = ("peer", "peer_metric")
DEFAULT_ENDPOINT = "default"
_TIMEOUT = v.duration(0.1, 10 * MINUTE, zero=False)  # a whole webhook request


@dataclass(frozen=True)
class Key:
    """One configuration key: where it lives, what it may be, what it is when nobody says."""

    section: str
    name: str
    coerce: v.Coerce
    default: Any
    override: str = ""  # a variable that wins over the file too (twelve-factor URLs)

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"

    def read(self, given: Any, env: Mapping[str, str], where: str = "") -> Any:
        """`given` (from the file), else the override/WG_PORTAL_* variable, else the default."""
        if self.override and env.get(self.override):
            given = env[self.override]
        elif given is None:
            given = env.get(f"WG_PORTAL_{self.section.upper()}_{self.name.upper()}")
        try:
            return self.coerce(self.default if given is None else given)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where or self.section}.{self.name}", str(exc)) from None


# fmt: off
KEYS: tuple[Key, ...] = (
    Key("core", "admin_user", v.text, "admin@wgportal.local"),
    Key("core", "admin_password", v.text, "wgportal-default"),  # wg-portal's documented default
    Key("core", "admin_api_token", v.text, ""),
    Key("core", "delete_peer_after_user_deleted", v.boolean, False),
    Key("core", "re_enable_peer_after_user_enable", v.boolean, True),
    Key("advanced", "start_listen_port", v.integer(1, 65535), 51820),
    Key("advanced", "start_cidr_v4", v.cidr, "10.11.12.0/24"),
    Key("advanced", "start_cidr_v6", v.cidr, "fdfd:d3ad:c0de:1234::0/64"),
    Key("advanced", "use_ip_v6", v.boolean, True),
    Key("advanced", "api_admin_only", v.boolean, True),
    Key("advanced", "log_level", v.log_level, "info"),
    Key("advanced", "log_json", v.boolean, False),
    # wg-portal's expired-peers check; run here only without portal.url (services/expiry.py)
    Key("advanced", "expiry_check_interval", v.duration(1.0, DAY, zero=False), "15m"),
    Key("statistics", "collect_peer_data", v.boolean, True),
    Key("statistics", "data_collection_interval", v.duration(0.1, DAY, zero=False), "1m"),
    Key("statistics", "use_ping_checks", v.boolean, False),
    Key("statistics", "disconnect_grace", v.duration(0, DAY), "0"),
    Key("statistics", "wg_command", v.text, "wg show all dump"),
    Key("backend", "rekey_timeout_interval", v.duration(1.0, DAY, zero=False), "180s"),
    Key("database", "type", v.database_type, "postgres"),
    Key("database", "dsn", v.stripped, "", override="DATABASE_URL"),  # "" = embedded Postgres
    Key("database", "schema", v.schema_name, DEFAULT_SCHEMA),  # every table of ours lives here
    Key("redis", "url", v.redis_url, "", override="REDIS_URL"),  # "" = embedded Redis
    Key("web", "listening_address", v.listen, "127.0.0.1:8888"),
    Key("flower", "listening_address", v.listen, "127.0.0.1:5555"),
    Key("flower", "basic_auth", v.user_password, ""),
    Key("webhook", "url", v.url, ""),  # "" = no default endpoint
    Key("webhook", "authentication", v.text, ""),
    Key("webhook", "secret", v.text, ""),  # an alias of authentication
    Key("webhook", "headers", v.headers, ""),
    # the endpoints' defaults (ENDPOINT_INHERITS):
    Key("webhook", "timeout", _TIMEOUT, "10s"),
    Key("webhook", "retry_schedule", v.schedule, "5s 5m 30m 2h 5h 10h 10h"),
    Key("webhook", "max_in_flight", v.integer(1, 1024), 16),
    Key("webhook", "signing_secret", v.signing_secret, ""),
    Key("webhook", "include_secrets", v.boolean, False),
    Key("webhook", "peer_state_format", v.one_of(PEER_STATE_FORMATS), "peer"),
    Key("webhook", "retention", v.duration(zero=False), "720h"),
    Key("webhook", "disable_after", v.duration(), "120h"),
    Key("webhook", "block_private_networks", v.boolean, False),
    Key("webhook", "batch_size", v.integer(1, 1000), 50),
    # extra time a lease allows beyond the longest POST: covers waiting in the queue
    Key("webhook", "lease_grace", v.duration(0, HOUR, zero=False), "60s"),
    # the relay polls this often even without NOTIFY (a lost notification costs this much)
    Key("webhook", "poll_interval", v.duration(0.01, 10 * MINUTE, zero=False), "1s"),
    Key("ingest", "authentication", v.text, ""),  # "" = POST /ingest/wg-portal is off
    Key("portal", "url", v.url, ""),  # "" = no reconcile
    Key("portal", "api_user", v.text, ""),
    Key("portal", "api_token", v.text, ""),
    Key("portal", "reconcile_interval", v.duration(1.0, DAY, zero=False), "5m"),
)

# One entry of webhook.endpoints; what it leaves out comes from webhook.<key> (ENDPOINT_INHERITS).
ENDPOINT_KEYS: tuple[Key, ...] = (
    Key("endpoint", "name", v.endpoint_name, ""),
    Key("endpoint", "url", v.url, ""),
    Key("endpoint", "authentication", v.text, ""),
    Key("endpoint", "secret", v.text, ""),  # an alias of authentication
    Key("endpoint", "events", v.names(EVENTS, "event"), ""),  # empty = all
    Key("endpoint", "entities", v.names(ENTITIES, "entity"), ""),  # empty = all
    Key("endpoint", "headers", v.headers, ""),
    Key("endpoint", "signing_key", v.signing_key, ""),
    Key("endpoint", "propagate_trace", v.boolean, False),
)
ENDPOINT_INHERITS = ("timeout", "retry_schedule", "max_in_flight", "signing_secret")
INHERITED = (*ENDPOINT_INHERITS, "headers")  # webhook.headers: merged under the endpoint's

# fmt: on
BY_NAME = {key.dotted: key for key in KEYS}
ENDPOINT_BY_NAME = {key.name: key for key in ENDPOINT_KEYS}


def default(dotted: str) -> Any:
    """The typed default of `section.key` (what the dataclasses below declare)."""
    key = BY_NAME.get(dotted) or ENDPOINT_BY_NAME[dotted.removeprefix("endpoint.")]
    return key.coerce(key.default)
