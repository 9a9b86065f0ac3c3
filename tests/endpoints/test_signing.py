"""Signatures of an endpoint: every active HMAC secret, expired ones not, Ed25519 beside them.

Verified with implementations that are not ours: the `standardwebhooks` package for `v1,`, and
`cryptography`'s Ed25519 over the spec's signed content (`id.timestamp.body`) for `v1a,`.
"""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from services.config import Endpoint
from services.endpoints.rotation import MAX_PREVIOUS, active_secrets, rotate
from services.signing_keys import new_signing_key, new_signing_secret, public_key
from workers.delivery import headers_for

BODY = b'{"event":"create","entity":"user","identifier":"alice","payload":{}}'


def _endpoint(current: str, *previous: tuple[str, float], signing_key: str = "") -> Endpoint:
    return Endpoint(
        name="billing",
        url="http://127.0.0.1:9/hook",
        signing_secret=current,
        previous_secrets=tuple(previous),
        signing_key=signing_key,
    )


def _sent(endpoint: Endpoint) -> dict[str, str]:
    return headers_for(endpoint, "evt_0192f1c0-7a2b-7000-8000-000000000042", BODY, int(time.time()))


def _verifies(secret: str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(BODY, headers)
    except Exception:  # the package raises its own WebhookVerificationError
        return False
    return True


@pytest.mark.parametrize("active", [1, 2, 3])
def test_each_active_secret_verifies_with_standard_webhooks(active: int) -> None:
    secrets = [new_signing_secret() for _ in range(active)]
    later = time.time() + 3600
    headers = _sent(_endpoint(secrets[0], *[(s, later) for s in secrets[1:]]))
    assert headers["webhook-signature"].count("v1,") == active
    for secret in secrets:
        assert _verifies(secret, headers)
    assert not _verifies(new_signing_secret(), headers)


def test_an_expired_old_secret_no_longer_signs() -> None:
    current, expired, valid = (new_signing_secret() for _ in range(3))
    now = time.time()
    headers = _sent(_endpoint(current, (valid, now + 60), (expired, now - 1)))
    assert headers["webhook-signature"].count("v1,") == 2
    assert _verifies(current, headers) and _verifies(valid, headers)
    assert not _verifies(expired, headers)


def test_ed25519_signature_verifies_with_cryptography_over_the_spec_content() -> None:
    key = new_signing_key()
    secret = new_signing_secret()
    headers = _sent(_endpoint(secret, signing_key=key))
    signatures = headers["webhook-signature"].split(" ")
    assert [s.split(",")[0] for s in signatures] == ["v1", "v1a"]
    raw_public = base64.b64decode(public_key(key).removeprefix("whpk_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + BODY
    Ed25519PublicKey.from_public_bytes(raw_public).verify(
        base64.b64decode(signatures[1].removeprefix("v1a,")), signed
    )  # raises InvalidSignature if wrong
    assert _verifies(secret, headers)  # the HMAC one beside it still verifies


def test_ed25519_alone_sends_only_a_v1a_signature() -> None:
    headers = _sent(_endpoint("", signing_key=new_signing_key()))
    assert headers["webhook-signature"].startswith("v1a,")
    assert " " not in headers["webhook-signature"]


def test_the_64_byte_key_form_signs_like_its_seed() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    seed = Ed25519PrivateKey.generate()
    raw_seed = seed.private_bytes_raw()
    raw_public = seed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    short = "whsk_" + base64.b64encode(raw_seed).decode()
    long = "whsk_" + base64.b64encode(raw_seed + raw_public).decode()
    assert public_key(short) == public_key(long)
    with pytest.raises(ValueError, match="not the public key"):
        public_key("whsk_" + base64.b64encode(raw_seed + bytes(32)).decode())


secrets_ = st.text(alphabet="abcdef0123456789", min_size=4, max_size=8)
previous_ = st.lists(st.tuples(secrets_, st.floats(0, 2000)), max_size=8)


@given(secrets_, previous_, st.floats(0, 1000), st.floats(0, 1000))
def test_rotation_keeps_at_most_five_unexpired_newest_first(
    current: str, previous: list[tuple[str, float]], now: float, grace: float
) -> None:
    kept = rotate(current, previous, now, grace)
    assert len(kept) <= MAX_PREVIOUS
    assert all(until > now for _, until in kept)
    if now + grace > now:
        assert kept[0] == (current, now + grace)
    endpoint = _endpoint("new", *kept)
    assert active_secrets(endpoint, now)[0] == "new"
    assert set(active_secrets(endpoint, now + grace + 2001)) == {"new"}
