"""The brake on guessing API tokens, over real HTTP from several loopback addresses: a client
that keeps failing gets 429 with Retry-After, so does a user under attack for the clients that
attacked it, and a correct token from another client always gets in."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.api.brake import CLIENT_LIMIT, USER_LIMIT, WINDOW, FailedAuthBrake
from services.config import Settings
from tests.console.conftest import Console

ADMIN, TOKEN = "admin@wgportal.local", "test-admin-token"


def _get(api: str, source: str, user: str, token: str) -> tuple[int, dict[str, str]]:
    """GET /api/v1/user/all with Basic auth, sent from the loopback address `source`."""
    parts = urlsplit(api)
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=30, source_address=(source, 0)
    )
    credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
    try:
        conn.request("GET", "/api/v1/user/all", headers={"Authorization": f"Basic {credentials}"})
        answer = conn.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        conn.close()


@pytest.fixture
def api(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> str:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    return api_url_factory(settings)


def test_a_client_that_keeps_guessing_is_braked_and_another_client_still_gets_in(
    api: str,
) -> None:
    guesses = [_get(api, "127.0.0.2", f"user{i}@x.test", f"guess-{i}") for i in range(25)]

    statuses = [status for status, _ in guesses]
    assert statuses == [401] * CLIENT_LIMIT + [429] * (25 - CLIENT_LIMIT)
    retry_after = int(guesses[-1][1]["retry-after"])
    assert 1 <= retry_after <= WINDOW
    assert _get(api, "127.0.0.2", ADMIN, TOKEN)[0] == 429  # the braked client: not even checked
    assert _get(api, "127.0.0.3", ADMIN, TOKEN)[0] == 200  # another client with the right token


def test_a_user_under_attack_from_many_addresses_is_braked_for_the_attackers_only(
    api: str,
) -> None:
    attackers = [f"127.0.1.{i}" for i in range(1, USER_LIMIT + 3)]
    first = [_get(api, source, ADMIN, f"guess-{source}")[0] for source in attackers]
    assert first == [401] * len(attackers)  # each address's first guess is checked

    again, headers = _get(api, attackers[0], ADMIN, TOKEN)
    assert again == 429  # the user is braked for a client that failed against it...
    assert int(headers["retry-after"]) >= 1
    assert _get(api, "127.0.2.1", ADMIN, TOKEN)[0] == 200  # ...never for one that did not
    assert _get(api, "127.0.2.2", "someone-else@x.test", "guess")[0] == 401


def test_failures_age_out_of_the_window() -> None:
    now = [0.0]
    brake = FailedAuthBrake(client_limit=2, user_limit=2, window=10, clock=lambda: now[0])
    brake.failed("10.0.0.1", "alice")
    now[0] = 4.0
    brake.failed("10.0.0.1", "bob")
    assert brake.retry_after("10.0.0.1", "carol") == 6  # the first failure frees at t=10
    now[0] = 10.5
    assert brake.retry_after("10.0.0.1", "carol") is None


def test_memory_stays_bounded_under_a_spray_of_identifiers() -> None:
    brake = FailedAuthBrake(max_keys=100)
    for i in range(1000):
        brake.failed(f"10.0.{i // 250}.{i % 250}", f"user{i}")
    assert len(brake._failures) <= 100


def test_the_consoles_sign_in_form_is_braked_too(api: str) -> None:
    console = Console(api)
    answers = [console.sign_in(ADMIN, f"guess-{i}").status_code for i in range(USER_LIMIT + 1)]
    assert answers == [401] * USER_LIMIT + [429]
    assert console.sign_in(ADMIN, TOKEN).status_code == 429  # this client failed: braked
