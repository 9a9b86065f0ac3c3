"""What an operator sends for a runtime endpoint, checked by the config's own rules.

The API's body uses the config keys of an `endpoints:` entry in PascalCase (DESIGN §4.3); they
are turned into config keys and built by `config.endpoint_from`, so a value is refused the same
way in the file and through the API, and the error names the field as the caller wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

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


# The variables an API-made header value may name: never the service's own environment (an
# admin could otherwise send DATABASE_URL or the secret key to a URL of their choosing).
HEADER_VARIABLES = "WG_WEBHOOKS_HEADER_"


class _HeaderVariables(Mapping[str, str]):
    """The environment as header values may see it; remembers a name outside HEADER_VARIABLES."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.refused: list[str] = []

    def __getitem__(self, name: str) -> str:
        if not name.startswith(HEADER_VARIABLES):
            self.refused.append(name)
            raise KeyError(name)
        return self.env[name]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.env if k.startswith(HEADER_VARIABLES))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _substituted(headers: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Header values with `${VAR}` replaced, as the config file's are (services.envsubst)."""
    out: dict[str, Any] = {}
    for name, value in headers.items():
        if not isinstance(value, str):
            out[name] = value  # the config's coercion refuses it, naming the header
            continue
        seen = _HeaderVariables(env)
        try:
            out[name] = substitute(value, seen)
        except SubstitutionError as exc:
            raise Invalid(f"Headers: {name}: {exc}") from None
        if seen.refused:
            raise Invalid(
                f"Headers: {name} may use only ${{{HEADER_VARIABLES}...}} variables, "
                f"not ${{{seen.refused[0]}}}"
            )
    return out


def build(
    item: Mapping[str, Any], settings: Settings, env: Mapping[str, str] | None = None
) -> Endpoint:
    """Config keys -> Endpoint with the `webhook:` defaults; `${VAR}` in header values is
    replaced from `env` (this process's environment) like the config file's, limited to
    HEADER_VARIABLES."""
    env = os.environ if env is None else env
    keys = {k: val for k, val in item.items() if val is not None}
    if isinstance(keys.get("headers"), dict):
        keys["headers"] = _substituted(keys["headers"], env)
    try:
        return endpoint_from(keys, settings.webhook.inherited, _WHERE)
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
