"""Runtime endpoints need the key their secrets are sealed with: one per test, in the env
(child processes inherit it), so nothing is written to the data dir."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("WG_WEBHOOKS_SECRET_KEY", key)
    return key
