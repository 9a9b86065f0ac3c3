"""The one list of an endpoint's secrets (what pages mask in response excerpts) holds what this
issue adds: header values, every signing secret of a rotation, the Ed25519 key."""

from __future__ import annotations

from services.config import Endpoint, Settings
from services.console import redaction
from services.signing_keys import new_signing_key, new_signing_secret


def test_header_values_every_signing_secret_and_the_key_are_masked() -> None:
    current, old = new_signing_secret(), new_signing_secret()
    key = new_signing_key()
    endpoint = Endpoint(
        name="crm",
        url="http://127.0.0.1:9/",
        authentication="Bearer crm-token-123",
        signing_secret=current,
        previous_secrets=((old, 2e9),),
        signing_key=key,
        headers=(("X-Tenant", "tenant-secret-77"),),
        source="api",
    )
    known = redaction.known_secrets(Settings(), [endpoint])
    echoed = f"auth=crm-token-123 tenant=tenant-secret-77 {current} {old} {key}"
    shown = redaction.redact(echoed, known)
    for secret in ("crm-token-123", "tenant-secret-77", current, old, key):
        assert secret not in shown
        assert secret.removeprefix("whsec_").removeprefix("whsk_") not in shown
