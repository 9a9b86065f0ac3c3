"""Secrets of runtime endpoints, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from `WG_WEBHOOKS_SECRET_KEY` (a Fernet key: 32 url-safe base64 bytes, as
`wg-webhooks endpoints new-key` prints). Without it, the key is kept in the data dir
(`secret_key`, mode 0600), generated there by the first process that needs one, like the
other generated credentials: right for `up` on one host; every process of a cluster on several
hosts must be given the same `WG_WEBHOOKS_SECRET_KEY`. A database dump alone never reveals a
secret.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

ENV = "WG_WEBHOOKS_SECRET_KEY"
KEY_FILE = "secret_key"

log = logging.getLogger(__name__)


class SealError(Exception):
    """The secrets cannot be opened: no key, or not the key they were sealed with."""


def _fernet(data_dir: Path, env: Mapping[str, str], create: bool) -> Fernet:
    configured = env.get(ENV, "").strip()
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError:
            raise SealError(f"{ENV} is not a Fernet key (32 url-safe base64 bytes)") from None
    path = data_dir / KEY_FILE
    if path.exists():
        return Fernet(path.read_text().strip().encode())
    if not create:
        raise SealError(f"no {ENV} and no {path}: cannot open endpoint secrets")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return Fernet(path.read_text().strip().encode())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.decode() + "\n")
    log.warning("no %s: generated one in %s; give every host of a cluster the same key", ENV, path)
    return Fernet(key)


def seal(secrets: Mapping[str, Any], data_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if env is None else env
    return _fernet(data_dir, env, create=True).encrypt(json.dumps(secrets).encode())


def unseal(token: bytes, data_dir: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if env is None else env
    try:
        opened: dict[str, Any] = json.loads(_fernet(data_dir, env, create=False).decrypt(token))
    except InvalidToken:
        raise SealError(f"endpoint secrets were sealed with another key than {ENV}") from None
    return opened


def new_key() -> str:
    return Fernet.generate_key().decode()
