"""Standard Webhooks key material: `whsec_` HMAC secrets and `whsk_`/`whpk_` Ed25519 keys.

Text forms as the Standard Webhooks spec serializes them: a prefix, then base64. A `whsk_` key
is the 32-byte Ed25519 seed (what the spec's libraries read) or the 64-byte seed + public key
that some tools print; both are accepted, and the 64-byte form must hold its own public key.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET_BYTES = 32  # new HMAC secrets (the spec asks for at least 24)


def new_signing_secret() -> str:
    """A fresh `whsec_` secret for rotation."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(signing_secret: str) -> bytes:
    """The key behind a `whsec_...` secret (the prefix is a label, the rest is base64)."""
    return base64.b64decode(signing_secret.removeprefix("whsec_"))


def private_key(signing_key: str) -> Ed25519PrivateKey:
    """The Ed25519 key of a `whsk_...` text; ValueError (without the key in it) if malformed."""
    try:
        raw = base64.b64decode(signing_key.strip().removeprefix("whsk_"), validate=True)
    except binascii.Error:
        raise ValueError("must be whsk_ followed by base64 (Standard Webhooks)") from None
    if len(raw) not in (32, 64):
        raise ValueError("must hold a 32-byte Ed25519 seed (or the 64-byte seed + public key)")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and raw[32:] != _public_bytes(key):
        raise ValueError("its last 32 bytes are not the public key of its seed")
    return key


def check_signing_key(signing_key: str) -> None:
    private_key(signing_key)


def public_key(signing_key: str) -> str:
    """The `whpk_...` text receivers verify `v1a,` signatures with."""
    return "whpk_" + base64.b64encode(_public_bytes(private_key(signing_key))).decode()


def new_signing_key() -> str:
    """A fresh `whsk_` key (the 32-byte seed form)."""
    return "whsk_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
