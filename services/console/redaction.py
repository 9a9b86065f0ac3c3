"""What the console must never show: the secrets it knows, masked wherever they appear.

A receiver may echo a request back (its `Authorization`, a signature, a token) into the response
excerpt the console shows; a custom header may carry a token. Every text a page shows from a
receiver or a header goes through `redact` with every secret the settings hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.config import Endpoint, Settings
from services.masking import MASK, endpoint_secrets

__all__ = ["MASK", "known_secrets", "redact"]
_SHORTEST = 4  # shorter "secrets" would mask ordinary words


def known_secrets(
    settings: Settings, endpoints: Iterable[Endpoint] | None = None
) -> frozenset[str]:
    """Every secret in the settings and in `endpoints` (default: the config file's; pass the
    runtime ones too, services.endpoints.live.current), and the token part of each
    `Scheme token`, `whsec_` and `whsk_`."""
    values = [settings.core.admin_api_token, settings.core.admin_password]
    values.append(settings.flower_basic_auth.partition(":")[2])
    values += [settings.ingest.authentication, settings.portal.api_token]
    for endpoint in settings.webhook.endpoints if endpoints is None else endpoints:
        values += sorted(endpoint_secrets(endpoint))  # the one list (services.masking)
    found: set[str] = set()
    for value in values:
        for part in (
            value,
            value.partition(" ")[2],
            value.removeprefix("whsec_"),
            value.removeprefix("whsk_"),
        ):
            if len(part.strip()) >= _SHORTEST:
                found.add(part.strip())
    return frozenset(found)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of every secret replaced by MASK (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text
