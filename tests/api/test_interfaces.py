"""/api/v1/interface: CRUD, prepare, cascading peer deletes, and real validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from services.domain.keys import public_key_of
from tests.api.conftest import KEYS, Api, Event, interface_body, peer_body


def test_create_get_and_list(api: Api) -> None:
    created = api.ok("POST", "/interface/new", interface_body())
    assert created["Identifier"] == "wg0"
    assert created["Filename"] == "wg0.conf"
    assert (created["EnabledPeers"], created["TotalPeers"]) == (0, 0)
    assert api.ok("GET", "/interface/by-id/wg0") == created
    assert api.ok("GET", "/interface/all") == [created]
    assert api.get("/interface/by-id/wg7").status_code == 404


def test_put_changes_and_without_change_sends_nothing(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    echoed = api.ok("GET", "/interface/by-id/wg0")
    api.ok("PUT", "/interface/by-id/wg0", echoed)  # read-only counters and Filename included
    assert len(events()) == 1
    changed = api.ok("PUT", "/interface/by-id/wg0", interface_body(ListenPort=51999))
    assert changed["ListenPort"] == 51999
    assert [e for e, *_ in events()] == ["create", "update"]


def test_put_cannot_rename(api: Api, counts: Callable[[], dict[str, int]]) -> None:
    api.ok("POST", "/interface/new", interface_body())
    before = counts()
    answer = api.put("/interface/by-id/wg0", interface_body(Identifier="wg1"))
    assert answer.status_code == 400
    assert "Identifier" in answer.json()["Message"]
    assert api.put("/interface/by-id/wg1", interface_body(Identifier="wg1")).status_code == 404
    assert counts() == before


def test_delete_deletes_its_peers_with_an_event_each_in_one_transaction(
    api: Api, events: Callable[[], list[Event]], db: psycopg.Connection[Any]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/peer/new", peer_body("alpha"))
    api.ok("POST", "/peer/new", peer_body("beta", Addresses=["10.11.12.3/32"]))
    db.execute("INSERT INTO peer_status (peer_identifier) VALUES (%s)", (KEYS["alpha"][1],))
    api.ok("DELETE", "/interface/by-id/wg0", status=204)
    deleted = [(e, n, i) for e, n, i, _ in events()][3:]
    assert sorted(deleted[:2]) == sorted(
        [("delete", "peer", KEYS["alpha"][1]), ("delete", "peer", KEYS["beta"][1])]
    )
    assert deleted[2] == ("delete", "interface", "wg0")
    xmins = db.execute("SELECT DISTINCT xmin::text FROM webhook_events WHERE event = 'delete'")
    assert len(xmins.fetchall()) == 1
    for table in ("interfaces", "peers", "peer_status"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert api.delete("/interface/by-id/wg0").status_code == 404


def test_prepare_takes_the_next_free_name_port_and_networks(api: Api) -> None:
    api.ok("POST", "/interface/new", interface_body())  # wg0, 51820, 10.11.12.0/24
    prepared = api.ok("GET", "/interface/prepare")
    assert prepared["Identifier"] == prepared["DisplayName"] == "wg1"
    assert prepared["Mode"] == "server"
    assert prepared["ListenPort"] == 51821
    assert prepared["Addresses"] == ["10.11.13.1/24", "fdfd:d3ad:c0de:1234::1/64"]
    assert prepared["PeerDefNetwork"] == ["10.11.13.0/24", "fdfd:d3ad:c0de:1234::/64"]
    assert prepared["PeerDefAllowedIPs"] == prepared["PeerDefNetwork"]
    assert (prepared["Mtu"], prepared["PeerDefMtu"], prepared["PeerDefPersistentKeepalive"]) == (
        1420,
        1420,
        16,
    )
    assert public_key_of(prepared["PrivateKey"]) == prepared["PublicKey"]
    # what prepare returns is a valid create body
    assert api.ok("POST", "/interface/new", prepared)["Identifier"] == "wg1"


def test_prepare_follows_the_configured_start_values(api_factory: Callable[..., Api]) -> None:
    api = api_factory(
        advanced={"start_listen_port": 40000, "start_cidr_v4": "10.99.0.0/16", "use_ip_v6": False}
    )
    prepared = api.ok("GET", "/interface/prepare")
    assert prepared["ListenPort"] == 40000
    assert prepared["Addresses"] == ["10.99.0.1/16"]
    assert prepared["PeerDefNetwork"] == ["10.99.0.0/16"]


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("PublicKey", {"PublicKey": KEYS["alpha"][1]}),  # not the private key's public key
    ("PrivateKey", {"PrivateKey": "c2hvcnQ="}),
    ("Identifier", {"Identifier": "wg0/evil"}),
    ("Identifier", {"Identifier": "a-very-long-interface-name"}),
    ("ListenPort", {"ListenPort": 70000}),
    ("ListenPort", {"ListenPort": 0}),  # a server needs one
    ("Mtu", {"Mtu": 10000}),
    ("Addresses", {"Addresses": ["10.11.12.1"]}),
    ("Dns", {"Dns": ["one.one.one.one"]}),
    ("DnsSearch", {"DnsSearch": ["-bad-.lan"]}),
    ("PeerDefNetwork", {"PeerDefNetwork": ["10.11.12.0/40"]}),
    ("PeerDefEndpoint", {"PeerDefEndpoint": "vpn.example.com:port"}),
    ("PeerDefEndpoint", {"PeerDefEndpoint": "vpn.example.com", "Mode": "any", "ListenPort": 0}),
    ("PeerDefPersistentKeepalive", {"PeerDefPersistentKeepalive": 70000}),
    ("FirewallMark", {"FirewallMark": -1}),
    ("Mode", {"Mode": "hub"}),
    ("DisabledReason", {"Disabled": True}),
    ("PostUp", {"PostUp": "a\x00b"}),
    ("Colour", {"Colour": "blue"}),
    ("ListenPort", {"ListenPort": "51820"}),
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS, ids=[f for f, _ in BAD_FIELDS])
def test_a_bad_field_is_400_naming_it_and_writes_nothing(
    api: Api, counts: Callable[[], dict[str, int]], field: str, change: dict[str, Any]
) -> None:
    before = counts()
    answer = api.post("/interface/new", interface_body(**change))
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["Message"]
    assert counts() == before


@pytest.mark.parametrize("field", ["Identifier", "Mode", "PrivateKey", "PublicKey"])
def test_required_fields_are_required(api: Api, field: str) -> None:
    body = interface_body()
    del body[field]
    answer = api.post("/interface/new", body)
    assert answer.status_code == 400
    assert answer.json()["Message"] == f"{field}: is required"


def test_create_of_an_existing_interface_is_409(
    api: Api, counts: Callable[[], dict[str, int]]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    before = counts()
    assert api.post("/interface/new", interface_body()).status_code == 409
    assert counts() == before


def test_body_that_is_not_json_is_400(api: Api) -> None:
    answer = api.request(
        "POST", "/interface/new", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["Code"] == 400


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("vpn.example.com", "vpn.example.com:51999"),
        ("192.0.2.7", "192.0.2.7:51999"),
        ("fd00::7", "[fd00::7]:51999"),
        ("[fd00::7]", "[fd00::7]:51999"),
        ("vpn.example.com:4500", "vpn.example.com:4500"),
    ],
)
def test_peer_def_endpoint_without_port_gets_the_listen_port_as_in_wg_portal(
    api: Api, sent: str, stored: str
) -> None:
    api.ok("POST", "/interface/new", interface_body(ListenPort=51999, PeerDefEndpoint=sent))
    assert api.ok("GET", "/interface/by-id/wg0")["PeerDefEndpoint"] == stored
