"""What may be a secret, masked before it is shown, logged or stored (SECURITY.md).

`public_url` is how every URL is printed: the API's endpoint list, `up`'s banner, config errors,
log lines. `endpoint_secrets` is every secret an endpoint sends or holds; `mask_secrets` replaces
them in text a receiver wrote (a response excerpt that echoes the request headers).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from services.config import Endpoint

MASK = "***"
# Shorter values are not masked inside text: "a" or "ok" would blank out half an excerpt.
MIN_SECRET = 4


def public_url(url: str) -> str:
    """The URL without what may be a credential: user info and query become `***`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None  # a bad port is reported by whoever parses the URL; never echo the rest
    if port is not None:
        host = f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        host = f"{MASK}@{host}"
    text = f"{parts.scheme}://{host}{parts.path}"
    return f"{text}?{MASK}" if parts.query else text


def url_secrets(url: str) -> set[str]:
    """User name, password and query values of `url`, as written and percent-decoded."""
    parts = urlsplit(url)
    found = {parts.username or "", parts.password or ""}
    found |= {value for _, value in parse_qsl(parts.query, keep_blank_values=True)}
    found |= {p for p in parts.query.split("&")}
    return found | {unquote(s) for s in found}


def _authorization_secrets(value: str) -> set[str]:
    """The header value, its credentials without the scheme, and Basic's decoded user:password."""
    found = {value}
    scheme, _, credentials = value.partition(" ")
    found.add(credentials.strip())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return found
        found.add(decoded)
        found.add(decoded.partition(":")[2])
    return found


def _signing_secrets(secret: str) -> set[str]:
    """`whsec_<base64>` as configured, and its base64 part alone."""
    return {secret, secret.removeprefix("whsec_")}


def endpoint_secrets(endpoint: Endpoint) -> set[str]:
    """Every secret `endpoint` holds or sends: its authentication value, every signing secret
    (rotated-out ones too), its Ed25519 key, custom header values and URL credentials. Extend
    this (one place) when an endpoint gains a new kind of secret."""
    found = url_secrets(endpoint.url)
    if endpoint.authentication:
        found |= _authorization_secrets(endpoint.authentication)
    for secret in (endpoint.signing_secret, *(s for s, _ in endpoint.previous_secrets)):
        if secret:
            found |= _signing_secrets(secret)
    if endpoint.signing_key:
        found |= {endpoint.signing_key, endpoint.signing_key.removeprefix("whsk_")}
    found |= {value for _, value in endpoint.headers}
    return {s for s in found if len(s) >= MIN_SECRET}


def _spellings(secret: str) -> set[str]:
    """How a secret may appear in a receiver's text: as is, and inside a JSON string."""
    return {secret, json.dumps(secret)[1:-1]}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`, longest first (a secret may contain another).

    A secret cut off at the end of `text` (an excerpt ends mid-way) is masked too: the part
    that made it in is as much of a leak as the whole."""
    spellings = sorted(
        {s for secret in secrets if len(secret) >= MIN_SECRET for s in _spellings(secret)},
        key=len,
        reverse=True,
    )
    for secret in spellings:
        text = text.replace(secret, MASK)
    for secret in spellings:
        for size in range(len(secret) - 1, MIN_SECRET - 1, -1):
            if text.endswith(secret[:size]):
                return text[: len(text) - size] + MASK
    return text
