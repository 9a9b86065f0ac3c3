"""WireGuard keys: base64 of 32 bytes; X25519 key pairs and preshared keys, generated here."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

KEY_BYTES = 32


def decode_key(value: str) -> bytes:
    """The 32 raw bytes of a key; ValueError when `value` is not standard base64 of 32 bytes."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("is not a WireGuard key (base64 of 32 bytes)") from None
    if len(raw) != KEY_BYTES:
        raise ValueError("is not a WireGuard key (base64 of 32 bytes)")
    return raw


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def public_key_of(private_key: str) -> str:
    """The public key WireGuard derives from `private_key` (X25519, clamping included)."""
    private = X25519PrivateKey.from_private_bytes(decode_key(private_key))
    return _encode(private.public_key().public_bytes_raw())


def generate_keypair() -> tuple[str, str]:
    """A fresh (private, public) key pair."""
    private = X25519PrivateKey.generate()
    return _encode(private.private_bytes_raw()), _encode(private.public_key().public_bytes_raw())


def generate_preshared_key() -> str:
    return _encode(os.urandom(KEY_BYTES))
