"""/api/v1/user: CRUD, and what a user's disabling or deletion does to its peers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.api.conftest import KEYS, Api, Event, enc, interface_body, peer_body

TOKEN = "t" * 32


@pytest.fixture
def alice(api: Api) -> Api:
    """alice with two peers on wg0: alpha (enabled) and beta (disabled by an admin)."""
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice", "Email": "alice@example.com"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok(
        "POST",
        "/peer/new",
        peer_body(
            "beta",
            UserIdentifier="alice",
            Addresses=["10.11.12.3/32"],
            Disabled=True,
            DisabledReason="spare",
        ),
    )
    return api


def _peer(api: Api, name: str) -> dict[str, Any]:
    result: dict[str, Any] = api.ok("GET", "/peer/by-id/" + enc(KEYS[name][1]))
    return result


def test_create_get_and_list(api: Api) -> None:
    created = api.ok(
        "POST", "/user/new", {"Identifier": "alice", "ApiToken": TOKEN, "Password": "p" * 16}
    )
    assert created["ApiToken"] == TOKEN and created["ApiEnabled"] is True
    assert "Password" not in created  # never sent (omitempty in wg-portal's model)
    assert created["AuthSources"] == ["db"]
    assert api.ok("GET", "/user/by-id/alice")["ApiToken"] == TOKEN
    (listed,) = api.ok("GET", "/user/all")
    assert listed["ApiToken"] == ""  # never on bulk reads
    assert api.get("/user/by-id/bob").status_code == 404


def test_put_without_change_sends_nothing_and_a_change_sends_update(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    body = {"Identifier": "alice", "Password": "p" * 16, "Firstname": "Alice"}
    api.ok("POST", "/user/new", body)
    api.ok("PUT", "/user/by-id/alice", body)  # same password again: no change
    api.ok("PUT", "/user/by-id/alice", api.ok("GET", "/user/by-id/alice"))  # echoed back
    assert [e for e, *_ in events()] == ["create"]
    api.ok("PUT", "/user/by-id/alice", {**body, "Password": "q" * 16})
    api.ok("PUT", "/user/by-id/alice", {**body, "Password": "q" * 16, "Lastname": "L"})
    assert [e for e, *_ in events()] == ["create", "update", "update"]


def test_put_cannot_rename_and_unknown_is_404(api: Api) -> None:
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    answer = api.put("/user/by-id/alice", {"Identifier": "bob"})
    assert answer.status_code == 400 and "Identifier" in answer.json()["Message"]
    assert api.put("/user/by-id/bob", {"Identifier": "bob"}).status_code == 404
    assert api.delete("/user/by-id/bob").status_code == 404


def test_delete_disables_its_enabled_peers_and_clears_their_owner(
    alice: Api, events: Callable[[], list[Event]], db: psycopg.Connection[Any]
) -> None:
    count = len(events())
    alice.ok("DELETE", "/user/by-id/alice", status=204)
    new = [(e, n, i) for e, n, i, _ in events()][count:]
    assert new[0] == ("delete", "user", "alice")
    assert sorted(new[1:]) == sorted(
        [("update", "peer", KEYS["alpha"][1]), ("update", "peer", KEYS["beta"][1])]
    )
    alpha, beta = _peer(alice, "alpha"), _peer(alice, "beta")
    assert (alpha["Disabled"], alpha["DisabledReason"], alpha["UserIdentifier"]) == (
        True,
        "user deleted",
        "",
    )
    assert (beta["Disabled"], beta["DisabledReason"], beta["UserIdentifier"]) == (True, "spare", "")
    xmins = db.execute("SELECT DISTINCT xmin::text FROM webhook_events WHERE id > %s", (count,))
    assert len(xmins.fetchall()) == 1


def test_delete_deletes_its_peers_when_configured(
    api_factory: Callable[..., Api], events: Callable[[], list[Event]]
) -> None:
    api = api_factory(
        core={"admin_api_token": "test-admin-token", "delete_peer_after_user_deleted": True}
    )
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok("DELETE", "/user/by-id/alice", status=204)
    assert [(e, n) for e, n, *_ in events()][-2:] == [("delete", "user"), ("delete", "peer")]
    assert api.get("/peer/by-id/" + enc(KEYS["alpha"][1])).status_code == 404


def test_disabling_a_user_disables_its_peers_and_enabling_restores_them(
    alice: Api, events: Callable[[], list[Event]]
) -> None:
    count = len(events())
    alice.ok(
        "PUT",
        "/user/by-id/alice",
        {
            "Identifier": "alice",
            "Email": "alice@example.com",
            "Disabled": True,
            "DisabledReason": "left",
        },
    )
    assert [(e, n) for e, n, *_ in events()][count:] == [("update", "user"), ("update", "peer")]
    alpha = _peer(alice, "alpha")
    assert (alpha["Disabled"], alpha["DisabledReason"]) == (True, "user disabled")
    alice.ok("PUT", "/user/by-id/alice", {"Identifier": "alice", "Email": "alice@example.com"})
    alpha, beta = _peer(alice, "alpha"), _peer(alice, "beta")
    assert (alpha["Disabled"], alpha["DisabledReason"]) == (False, "")
    assert (beta["Disabled"], beta["DisabledReason"]) == (
        True,
        "spare",
    )  # disabled for its own reason


def test_enabling_a_user_leaves_peers_disabled_when_configured(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(
        core={"admin_api_token": "test-admin-token", "re_enable_peer_after_user_enable": False}
    )
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok("PUT", "/user/by-id/alice", {"Identifier": "alice", "Disabled": True})
    api.ok("PUT", "/user/by-id/alice", {"Identifier": "alice"})
    assert _peer(api, "alpha")["DisabledReason"] == "user disabled"


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("Email", {"Email": "not-an-address"}),
    ("Password", {"Password": "short"}),
    ("ApiToken", {"ApiToken": "short"}),
    ("Identifier", {"Identifier": " padded "}),
    ("Identifier", {"Identifier": "x" * 65}),
    ("Identifier", {"Identifier": ""}),
    ("Notes", {"Notes": "nul \x00"}),
    ("IsAdmin", {"IsAdmin": "yes"}),
    ("Colour", {"Colour": "blue"}),
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS, ids=[f for f, _ in BAD_FIELDS])
def test_a_bad_field_is_400_naming_it_and_writes_nothing(
    api: Api, counts: Callable[[], dict[str, int]], field: str, change: dict[str, Any]
) -> None:
    before = counts()
    answer = api.post("/user/new", {"Identifier": "alice", **change})
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["Message"]
    assert counts() == before


def test_user_ids_with_slash_work_in_paths(api: Api) -> None:
    api.ok("POST", "/user/new", {"Identifier": "corp/alice+admin"})
    assert api.ok("GET", "/user/by-id/corp/alice+admin")["Identifier"] == "corp/alice+admin"
    assert api.ok("GET", "/user/by-id/corp%2Falice%2Badmin")["Identifier"] == "corp/alice+admin"
    api.ok("DELETE", "/user/by-id/corp%2Falice%2Badmin", status=204)
