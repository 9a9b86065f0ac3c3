"""HTTP Basic auth as wg-portal's API v1, plus what wg-portal forgets: disabled and locked users."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.api.conftest import KEYS, Api, enc, interface_body, peer_body

TOKEN = "a" * 32
ALICE = ("alice", TOKEN)

# One route of each kind: (method, path, admin only)
ROUTES = [
    ("GET", "/user/all", True),
    ("GET", "/user/by-id/alice", False),
    ("POST", "/user/new", True),
    ("GET", "/interface/all", True),
    ("GET", "/interface/prepare", True),
    ("GET", "/peer/by-interface/wg0", True),
    ("GET", "/peer/by-user/alice", False),
    ("GET", "/peer/prepare/wg0", True),
    ("DELETE", "/peer/by-id/" + enc(KEYS["alpha"][1]), True),
    ("GET", "/metrics/by-interface/wg0", True),
    ("GET", "/metrics/by-user/alice", False),
]
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


@pytest.fixture
def world(api_factory: Callable[..., Api]) -> Api:
    """advanced.api_admin_only off: alice (no admin) may use the API for her own records."""
    api = api_factory(advanced={"api_admin_only": False})
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice", "ApiToken": TOKEN})
    api.ok("POST", "/user/new", {"Identifier": "bob", "ApiToken": "b" * 32})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok(
        "POST", "/peer/new", peer_body("beta", UserIdentifier="bob", Addresses=["10.11.12.3/32"])
    )
    return api


@pytest.mark.parametrize(("method", "path", "admin_only"), ROUTES, ids=IDS)
def test_missing_credentials_are_401(world: Api, method: str, path: str, admin_only: bool) -> None:
    answer = world.as_(None).request(method, path, json={})
    assert answer.status_code == 401
    assert answer.json()["Code"] == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(("method", "path", "admin_only"), ROUTES, ids=IDS)
def test_wrong_token_is_401(world: Api, method: str, path: str, admin_only: bool) -> None:
    assert world.as_(("alice", "b" * 32)).request(method, path, json={}).status_code == 401
    assert world.as_(("nobody", TOKEN)).request(method, path, json={}).status_code == 401
    assert (
        world.as_(("admin@wgportal.local", "x")).request(method, path, json={}).status_code == 401
    )


@pytest.mark.parametrize(("method", "path", "admin_only"), ROUTES, ids=IDS)
def test_non_admin_is_403_on_admin_routes_and_served_on_own_records(
    world: Api, method: str, path: str, admin_only: bool
) -> None:
    answer = world.as_(ALICE).request(method, path, json={})
    if admin_only:
        assert answer.status_code == 403, answer.text
        assert answer.json()["Code"] == 403
    else:
        assert answer.status_code == 200, answer.text


def test_non_admin_gets_403_for_someone_elses_records(world: Api) -> None:
    alice = world.as_(ALICE)
    assert alice.get("/user/by-id/bob").status_code == 403
    assert alice.get("/peer/by-user/bob").status_code == 403
    assert alice.get("/peer/by-id/" + enc(KEYS["beta"][1])).status_code == 403
    assert alice.get("/metrics/by-user/bob").status_code == 403
    assert alice.get("/metrics/by-peer/" + enc(KEYS["beta"][1])).status_code == 403
    assert alice.get("/peer/by-id/" + enc(KEYS["alpha"][1])).status_code == 200
    assert alice.get("/metrics/by-peer/" + enc(KEYS["alpha"][1])).status_code == 200


def test_non_admin_is_refused_while_api_admin_only_is_on(api: Api) -> None:
    api.ok("POST", "/user/new", {"Identifier": "alice", "ApiToken": TOKEN})
    assert api.as_(ALICE).get("/user/by-id/alice").status_code == 403


@pytest.mark.parametrize(
    "change",
    [{"Disabled": True, "DisabledReason": "left"}, {"Locked": True, "LockedReason": "abuse"}],
    ids=["disabled", "locked"],
)
def test_disabled_or_locked_users_are_refused_with_a_valid_token(
    api: Api, change: dict[str, object]
) -> None:
    api.ok("POST", "/user/new", {"Identifier": "root", "ApiToken": TOKEN, "IsAdmin": True})
    root = api.as_(("root", TOKEN))
    assert root.get("/user/all").status_code == 200  # an admin from the database
    api.ok("PUT", "/user/by-id/root", {"Identifier": "root", "IsAdmin": True, **change})
    answer = root.get("/user/all")
    assert answer.status_code == 403
    assert answer.json()["Code"] == 403


def test_admin_token_unset_turns_the_config_admin_off(api_factory: Callable[..., Api]) -> None:
    api = api_factory(core={"admin_api_token": ""})
    assert api.as_(("admin@wgportal.local", "")).get("/user/all").status_code == 401
