"""Standard Webhooks signatures over `id.timestamp.body` (pure: keys in, header text out).

`v1,<base64 HMAC-SHA256>` for each active `whsec_` secret (the current one and those still in
their rotation grace), `v1a,<base64 Ed25519>` for a `whsk_` key; space-separated in one header,
so a receiver that knows any one of them verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.signing_keys import private_key
from services.signing_keys import secret_bytes as secret_bytes


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, signed_content(msg_id, timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_ed25519(key: Ed25519PrivateKey, msg_id: str, timestamp: int, body: bytes) -> str:
    return "v1a," + base64.b64encode(key.sign(signed_content(msg_id, timestamp, body))).decode()


def signature_header(
    secrets: Sequence[str], signing_key: str, msg_id: str, timestamp: int, body: bytes
) -> str:
    """The `webhook-signature` value: one `v1,` per secret, then `v1a,` for the key ("" when
    neither is given)."""
    signatures = [sign(_hmac_key(s), msg_id, timestamp, body) for s in secrets]
    if signing_key:
        signatures.append(sign_ed25519(_ed25519(signing_key), msg_id, timestamp, body))
    return " ".join(signatures)


# Decoding is cheap but not free; a worker signs with the same few keys all day.
@lru_cache(maxsize=256)
def _hmac_key(signing_secret: str) -> bytes:
    return secret_bytes(signing_secret)


@lru_cache(maxsize=256)
def _ed25519(signing_key: str) -> Ed25519PrivateKey:
    return private_key(signing_key)
