"""/api/v1/peer: CRUD, key changes, prepare, ids with `/` and `+`, and real validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from services.domain.keys import decode_key, public_key_of
from tests.api.conftest import KEYS, Api, Event, enc, interface_body, peer_body


@pytest.fixture
def wg0(api: Api) -> Api:
    api.ok("POST", "/interface/new", interface_body())
    return api


def test_ids_with_slash_and_plus_work_raw_and_percent_encoded(
    wg0: Api, events: Callable[[], list[Event]]
) -> None:
    key = KEYS["gamma"][1]
    assert key.startswith("//") and "+" in key
    created = wg0.ok("POST", "/peer/new", peer_body("gamma"))
    assert created["Identifier"] == key
    assert wg0.ok("GET", "/peer/by-id/" + key)["Identifier"] == key
    assert wg0.ok("GET", "/peer/by-id/" + enc(key))["Identifier"] == key
    updated = wg0.ok("PUT", "/peer/by-id/" + enc(key), peer_body("gamma", Notes="renamed"))
    assert updated["Notes"] == "renamed"
    assert wg0.ok("GET", "/metrics/by-peer/" + enc(key))["PeerIdentifier"] == key
    wg0.ok("DELETE", "/peer/by-id/" + key, status=204)
    assert wg0.get("/peer/by-id/" + enc(key)).status_code == 404
    assert [(e, i) for e, _, i, _ in events()][-3:] == [
        ("create", key),
        ("update", key),
        ("delete", key),
    ]


def test_get_lists_by_interface_and_by_user(wg0: Api) -> None:
    wg0.ok("POST", "/user/new", {"Identifier": "alice"})
    wg0.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    wg0.ok("POST", "/peer/new", peer_body("beta", Addresses=["10.11.12.3/32"]))
    by_interface = wg0.ok("GET", "/peer/by-interface/wg0")
    assert sorted(p["Identifier"] for p in by_interface) == sorted(
        [KEYS["alpha"][1], KEYS["beta"][1]]
    )
    assert [p["Identifier"] for p in wg0.ok("GET", "/peer/by-user/alice")] == [KEYS["alpha"][1]]
    assert wg0.get("/peer/by-user/nobody").status_code == 404
    assert wg0.get("/peer/by-interface/wg7").status_code == 404
    interface = wg0.ok("GET", "/interface/by-id/wg0")
    assert (interface["TotalPeers"], interface["EnabledPeers"]) == (2, 2)
    assert wg0.ok("GET", "/user/by-id/alice")["PeerCount"] == 1


def test_response_has_wg_portal_shape_with_options(wg0: Api) -> None:
    peer = wg0.ok("POST", "/peer/new", peer_body("alpha", ExpiresAt="2030-01-31"))
    assert list(peer)[:4] == ["Identifier", "DisplayName", "UserIdentifier", "InterfaceIdentifier"]
    assert peer["Endpoint"] == {"Value": "vpn.example.com:51820", "Overridable": True}
    assert peer["Mtu"] == {"Value": 0}  # Overridable is omitempty in wg-portal's model
    assert peer["ExpiresAt"] == "2030-01-31"
    assert peer["PublicKey"] == peer["Identifier"]
    assert peer["Filename"] == "alpha_laptop.conf"


def test_put_without_change_writes_and_sends_nothing(
    wg0: Api, events: Callable[[], list[Event]], db: psycopg.Connection[Any]
) -> None:
    body = peer_body("alpha", Disabled=True, DisabledReason="spare")
    wg0.ok("POST", "/peer/new", body)
    before = db.execute("SELECT updated_at, disabled FROM peers").fetchone()
    count = len(events())
    # what a client gets back, sent back as it is (read-only Filename included)
    echoed = wg0.ok("GET", "/peer/by-id/" + enc(KEYS["alpha"][1]))
    wg0.ok("PUT", "/peer/by-id/" + enc(KEYS["alpha"][1]), echoed)
    wg0.ok("PUT", "/peer/by-id/" + enc(KEYS["alpha"][1]), body)
    assert len(events()) == count
    assert db.execute("SELECT updated_at, disabled FROM peers").fetchone() == before


def test_key_change_is_one_transaction_and_moves_the_peer(
    wg0: Api, events: Callable[[], list[Event]], db: psycopg.Connection[Any]
) -> None:
    old, (private, new) = KEYS["alpha"][1], KEYS["gamma"]
    wg0.ok("POST", "/peer/new", peer_body("alpha"))
    db.execute("INSERT INTO peer_status (peer_identifier, bytes_received) VALUES (%s, 5)", (old,))
    body = peer_body("alpha", Identifier=new, PublicKey=new, PrivateKey=private)
    wg0.ok("PUT", "/peer/by-id/" + enc(old), body)
    assert [(e, i) for e, _, i, _ in events()][-2:] == [("delete", old), ("update", new)]
    xmins = db.execute(
        "SELECT DISTINCT xmin::text FROM webhook_events WHERE entity = 'peer' AND event <> 'create'"
    ).fetchall()
    assert len(xmins) == 1  # both events were written by one transaction
    assert db.execute("SELECT identifier FROM peers").fetchall() == [(new,)]
    assert db.execute("SELECT count(*) FROM peer_status").fetchone() == (0,)
    assert wg0.get("/peer/by-id/" + enc(old)).status_code == 404


def test_key_change_onto_an_existing_peer_is_409_and_changes_nothing(
    wg0: Api, counts: Callable[[], dict[str, int]]
) -> None:
    wg0.ok("POST", "/peer/new", peer_body("alpha"))
    wg0.ok("POST", "/peer/new", peer_body("beta", Addresses=["10.11.12.3/32"]))
    before = counts()
    private, public = KEYS["beta"]
    answer = wg0.put(
        "/peer/by-id/" + enc(KEYS["alpha"][1]),
        peer_body("alpha", PublicKey=public, PrivateKey=private),
    )
    assert answer.status_code == 409, answer.text
    assert counts() == before


def test_create_of_an_existing_peer_is_409_and_writes_nothing(
    wg0: Api, counts: Callable[[], dict[str, int]]
) -> None:
    wg0.ok("POST", "/peer/new", peer_body("alpha"))
    before = counts()
    answer = wg0.post("/peer/new", peer_body("alpha"))
    assert answer.status_code == 409
    assert answer.json()["Code"] == 409
    assert counts() == before


def test_prepare_gives_fresh_keys_and_the_first_free_address(wg0: Api) -> None:
    wg0.ok("POST", "/peer/new", peer_body("alpha"))  # takes 10.11.12.2 (the interface has .1)
    prepared = wg0.ok("GET", "/peer/prepare/wg0")
    assert prepared["Addresses"] == ["10.11.12.3/32"]
    assert public_key_of(prepared["PrivateKey"]) == prepared["Identifier"] == prepared["PublicKey"]
    assert len(decode_key(prepared["PresharedKey"])) == 32
    assert prepared["Mode"] == "client"
    assert prepared["UserIdentifier"] == "admin@wgportal.local"
    assert prepared["DisplayName"] == "Peer " + prepared["Identifier"][:8]
    assert prepared["EndpointPublicKey"] == {"Value": KEYS["iface"][1], "Overridable": True}
    assert prepared["AllowedIPs"] == {
        "Value": ["10.11.12.0/24", "10.20.0.0/16"],
        "Overridable": True,
    }
    assert prepared["PersistentKeepalive"] == {"Value": 25, "Overridable": True}
    # what prepare returns is a valid create body
    created = wg0.ok("POST", "/peer/new", prepared)
    assert created["Identifier"] == prepared["Identifier"]


def test_prepare_for_an_unknown_interface_is_404(api: Api) -> None:
    assert api.get("/peer/prepare/wg7").status_code == 404


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("Identifier", {"Identifier": "not-a-key"}),
    ("Identifier", {"Identifier": "AAAA"}),
    ("PrivateKey", {"PrivateKey": KEYS["beta"][0]}),  # does not belong to the public key
    ("PresharedKey", {"PresharedKey": "short=="}),
    ("PublicKey", {"PublicKey": KEYS["beta"][1]}),
    ("Addresses", {"Addresses": ["10.11.12.300/32"]}),
    ("Addresses", {"Addresses": ["10.11.12.2"]}),
    ("ExtraAllowedIPs", {"ExtraAllowedIPs": ["nonsense"]}),
    ("AllowedIPs", {"AllowedIPs": {"Value": ["10.0.0.0/33"]}}),
    ("Endpoint", {"Endpoint": {"Value": "vpn.example.com:70000"}}),
    ("Endpoint", {"Endpoint": {"Value": "fd00::1:51820"}}),
    ("EndpointPublicKey", {"EndpointPublicKey": {"Value": "xyz"}}),
    ("PersistentKeepalive", {"PersistentKeepalive": {"Value": -1}}),
    ("Mtu", {"Mtu": {"Value": 100}}),
    ("FirewallMark", {"FirewallMark": {"Value": 2**32}}),
    ("Dns", {"Dns": {"Value": ["dns.google"]}}),
    ("DnsSearch", {"DnsSearch": {"Value": ["bad domain"]}}),
    ("RoutingTable", {"RoutingTable": {"Value": "main table"}}),
    ("PreUp", {"PreUp": {"Value": "echo a\necho b"}}),
    ("Mode", {"Mode": "router"}),
    ("ExpiresAt", {"ExpiresAt": "31.01.2030"}),
    ("CheckAliveAddress", {"CheckAliveAddress": "not an address"}),
    ("DisabledReason", {"Disabled": True}),
    ("DisplayName", {"DisplayName": "x" * 65}),
    ("Notes", {"Notes": "nul \x00 byte"}),
    ("InterfaceIdentifier", {"InterfaceIdentifier": "wg7"}),
    ("UserIdentifier", {"UserIdentifier": "nobody"}),
    ("Colour", {"Colour": "blue"}),  # unknown fields are refused
    ("Mtu", {"Mtu": {"Value": "1420"}}),  # a string is not a number (as in Go)
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS, ids=[f for f, _ in BAD_FIELDS])
def test_a_bad_field_is_400_naming_it_and_writes_nothing(
    wg0: Api, counts: Callable[[], dict[str, int]], field: str, change: dict[str, Any]
) -> None:
    before = counts()
    answer = wg0.post("/peer/new", peer_body("alpha", **change))
    assert answer.status_code == 400, answer.text
    assert answer.json()["Code"] == 400
    assert field in answer.json()["Message"]
    assert counts() == before


def test_a_bad_field_in_a_put_changes_nothing(
    wg0: Api, counts: Callable[[], dict[str, int]], db: psycopg.Connection[Any]
) -> None:
    wg0.ok("POST", "/peer/new", peer_body("alpha"))
    before = counts(), db.execute("SELECT * FROM peers").fetchall()
    answer = wg0.put("/peer/by-id/" + enc(KEYS["alpha"][1]), peer_body("alpha", Mtu={"Value": 1}))
    assert answer.status_code == 400 and "Mtu" in answer.json()["Message"]
    # Identifier names neither the peer of the path nor the (unchanged) PublicKey
    answer = wg0.put(
        "/peer/by-id/" + enc(KEYS["alpha"][1]), peer_body("alpha", Identifier=KEYS["beta"][1])
    )
    assert answer.status_code == 400 and "Identifier" in answer.json()["Message"]
    assert (counts(), db.execute("SELECT * FROM peers").fetchall()) == before


def test_missing_required_field_is_400(wg0: Api) -> None:
    body = peer_body("alpha")
    del body["InterfaceIdentifier"]
    answer = wg0.post("/peer/new", body)
    assert answer.status_code == 400
    assert answer.json()["Message"] == "InterfaceIdentifier: is required"


def test_unknown_peer_is_404_for_every_verb(api: Api) -> None:
    path = "/peer/by-id/" + enc(KEYS["alpha"][1])
    assert api.get(path).status_code == 404
    assert api.put(path, peer_body("alpha")).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.get("/peer/by-id/%00").status_code == 404


def test_empty_id_is_400_as_wg_portal(api: Api) -> None:
    answer = api.get("/peer/by-id/")
    assert answer.status_code == 400
    assert answer.json() == {"Code": 400, "Message": "missing peer id"}
