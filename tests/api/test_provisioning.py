"""/api/v1/provisioning: user information, a peer's wg-quick file and QR code, new peers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.domain.keys import public_key_of
from tests.api.conftest import KEYS, PSK, Api, Event, interface_body, peer_body

TOKEN = "a" * 32


@pytest.fixture
def world(api_factory: Callable[..., Api]) -> Api:
    api = api_factory(advanced={"api_admin_only": False})
    api.ok("POST", "/interface/new", interface_body())
    api.ok(
        "POST",
        "/user/new",
        {"Identifier": "alice", "Email": "Alice@Example.com", "ApiToken": TOKEN},
    )
    api.ok("POST", "/user/new", {"Identifier": "bob", "ApiToken": "b" * 32})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    return api


def test_user_info_by_id_by_email_and_for_oneself(world: Api) -> None:
    expected = {
        "UserIdentifier": "alice",
        "PeerCount": 1,
        "Peers": [
            {
                "Identifier": KEYS["alpha"][1],
                "DisplayName": "alpha laptop",
                "IpAddresses": ["10.11.12.2/32"],
                "InterfaceIdentifier": "wg0",
            }
        ],
    }
    assert world.ok("GET", "/provisioning/data/user-info", params={"UserId": "alice"}) == expected
    assert world.ok("GET", "/provisioning/data/user-info?Email=alice@example.com") == expected
    alice = world.as_(("alice", TOKEN))
    assert alice.ok("GET", "/provisioning/data/user-info") == expected
    assert alice.get("/provisioning/data/user-info?UserId=bob").status_code == 403
    assert world.get("/provisioning/data/user-info?UserId=nobody").status_code == 404
    empty = world.ok("GET", "/provisioning/data/user-info?UserId=bob")
    assert empty == {"UserIdentifier": "bob", "PeerCount": 0, "Peers": []}


def test_peer_config_is_a_wg_quick_file(world: Api) -> None:
    answer = world.get("/provisioning/data/peer-config", params={"PeerId": KEYS["alpha"][1]})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    text = answer.text
    assert "[Interface]" in text and "[Peer]" in text
    for line in (
        f"PrivateKey = {KEYS['alpha'][0]}",
        "Address = 10.11.12.2/32",
        "DNS = 1.1.1.1, 9.9.9.9",
        f"PublicKey = {KEYS['iface'][1]}",
        "Endpoint = vpn.example.com:51820",
        "AllowedIPs = 10.11.12.0/24, 10.20.0.0/16",
        f"PresharedKey = {PSK}",
        "PersistentKeepalive = 25",
    ):
        assert line in text.splitlines(), line


def test_peer_qr_is_a_png(world: Api) -> None:
    answer = world.get("/provisioning/data/peer-qr", params={"PeerId": KEYS["alpha"][1]})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_peer_config_access_and_errors(world: Api) -> None:
    assert world.get("/provisioning/data/peer-config?PeerId=").status_code == 400
    assert world.get("/provisioning/data/peer-config").status_code == 400
    missing = world.get("/provisioning/data/peer-qr", params={"PeerId": KEYS["beta"][1]})
    assert missing.status_code == 404
    bob = world.as_(("bob", "b" * 32))
    assert (
        bob.get("/provisioning/data/peer-config", params={"PeerId": KEYS["alpha"][1]}).status_code
        == 403
    )


def test_new_peer_generates_keys_and_records_create(
    world: Api, events: Callable[[], list[Event]]
) -> None:
    peer = world.ok(
        "POST", "/provisioning/new-peer", {"InterfaceIdentifier": "wg0", "UserIdentifier": "bob"}
    )
    assert public_key_of(peer["PrivateKey"]) == peer["Identifier"]
    assert peer["UserIdentifier"] == "bob"
    assert peer["Addresses"] == ["10.11.12.3/32"]
    assert peer["DisplayName"] == "API Peer " + peer["Identifier"][:8]
    assert events()[-1][:3] == ("create", "peer", peer["Identifier"])


def test_new_peer_with_a_public_key_keeps_no_private_key(world: Api) -> None:
    public = KEYS["gamma"][1]
    peer = world.ok(
        "POST",
        "/provisioning/new-peer",
        {
            "InterfaceIdentifier": "wg0",
            "PublicKey": public,
            "PresharedKey": PSK,
            "DisplayName": "phone",
        },
    )
    assert (peer["Identifier"], peer["PrivateKey"], peer["PresharedKey"]) == (public, "", PSK)
    assert peer["DisplayName"] == "phone"
    assert peer["UserIdentifier"] == "admin@wgportal.local"  # the caller, when none is given


def test_new_peer_refusals(world: Api, events: Callable[[], list[Event]]) -> None:
    count = len(events())
    alice = world.as_(("alice", TOKEN))
    assert alice.post("/provisioning/new-peer", {"InterfaceIdentifier": "wg0"}).status_code == 403
    assert world.post("/provisioning/new-peer", {"InterfaceIdentifier": "wg7"}).status_code == 404
    bad = world.post("/provisioning/new-peer", {"InterfaceIdentifier": "wg0", "PublicKey": "x"})
    assert bad.status_code == 400 and "PublicKey" in bad.json()["Message"]
    taken = world.post(
        "/provisioning/new-peer", {"InterfaceIdentifier": "wg0", "PublicKey": KEYS["alpha"][1]}
    )
    assert taken.status_code == 409
    assert len(events()) == count
