"""What an operator sends for a runtime endpoint, checked by the config's own rules.

The API's body uses the config keys of an `endpoints:` entry in PascalCase (DESIGN §4.3); they
are turned into config keys and built by `config.endpoint_from`, so a value is refused the same
way in the file and through the API, and the error names the field as the caller wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from services.address_policy import url_refusal
from services.config import ConfigError, Endpoint, Settings, endpoint_from
from services.domain.errors import Invalid
from services.envsubst import SubstitutionError, substitute
from services.host_resolution import check_hosts_resolve

FIELDS = {
    "Name": "name",
    "Url": "url",
    "Authentication": "authentication",
    "Events": "events",
    "Entities": "entities",
    "Timeout": "timeout",
    "RetrySchedule": "retry_schedule",
    "MaxInFlight": "max_in_flight",
    "Headers": "headers",
    "SigningSecret": "signing_secret",
    "SigningKey": "signing_key",
    "PropagateTrace": "propagate_trace",
}
FIELD_OF = {key: field for field, key in FIELDS.items()}
# Sealed at rest (services/endpoints/sealing.py); everything else is stored in the clear.
SECRET_KEYS = frozenset({"url", "authentication", "signing_secret", "signing_key", "headers"})


def config_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """A PascalCase body -> config keys (null = the key is unset); unknown fields refused."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Invalid(f"{unknown[0]}: unknown field (known: {', '.join(FIELDS)})")
    return {FIELDS[field]: value for field, value in body.items()}


def build(
    item: Mapping[str, Any], settings: Settings, env: Mapping[str, str] | None = None
) -> Endpoint:
    """Config keys -> Endpoint with the `webhook:` defaults; `${VAR}` in header values is
    replaced from `env` (this process's environment), as the config file's would be."""
    env = os.environ if env is None else env
    keys = {k: val for k, val in item.items() if val is not None}
    headers = keys.get("headers")
    try:
        if isinstance(headers, dict):
            keys["headers"] = {
                name: substitute(val, env) if isinstance(val, str) else val
                for name, val in headers.items()
            }
        return endpoint_from(keys, settings.webhook.inherited, _WHERE)
    except SubstitutionError as exc:
        raise Invalid(f"Headers: {exc}") from None
    except ConfigError as exc:
        raise Invalid(_as_field(exc)) from None


_WHERE = "endpoint"


def _as_field(exc: ConfigError) -> str:
    """The config's error naming the field as the API caller wrote it (MaxInFlight)."""
    key = exc.key.removeprefix(f"{_WHERE}.")
    message = str(exc).removeprefix(f"{exc.key}: ")
    return f"{FIELD_OF.get(key, key)}: {message}"


def check_new(item: Mapping[str, Any], settings: Settings) -> Endpoint:
    """`build`, then what only a new value needs: the SSRF address policy on an address
    literal, and a host name that resolves (what start-up checks of the config's URLs)."""
    endpoint = build(item, settings)
    why = url_refusal(endpoint.url, settings.webhook.block_private_networks)
    if why:
        raise Invalid(f"Url: webhooks are never sent there: {why}")
    try:
        check_hosts_resolve([("Url", endpoint.url)])
    except ConfigError as exc:
        raise Invalid(str(exc)) from None
    return endpoint


def public_url(url: str) -> str:
    """The URL without what may be a credential: user info and query become `***`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.username is not None or parts.password is not None:
        host = f"***@{host}"
    text = f"{parts.scheme}://{host}{parts.path}"
    return f"{text}?***" if parts.query else text
