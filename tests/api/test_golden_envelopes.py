"""Every event's stored envelope, field by field, against tests/golden (reference §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tests.api.conftest import KEYS, Api, Event, enc, interface_body, peer_body
from tests.api.golden import assert_golden

FULL_USER = {
    "Identifier": "alice@example.com",
    "Email": "alice@example.com",
    "Firstname": "Alice",
    "Lastname": "Liddell",
    "Phone": "+43 1 234",
    "Department": "Research",
    "Notes": "first user",
    "IsAdmin": True,
}


def _envelopes(events: Callable[[], list[Event]]) -> list[dict[str, object]]:
    return [envelope for *_, envelope in events()]


def test_user_create_update_delete_envelopes(api: Api, events: Callable[[], list[Event]]) -> None:
    api.ok("POST", "/user/new", {**FULL_USER, "Password": "a-long-enough-password"})
    api.ok(
        "PUT",
        "/user/by-id/alice@example.com",
        {
            **FULL_USER,
            "Disabled": True,
            "DisabledReason": "on leave",
            "Locked": True,
            "LockedReason": "too many logins",
            "Phone": "",
        },
    )
    api.ok("DELETE", "/user/by-id/alice@example.com", status=204)
    create, update, delete = _envelopes(events)
    assert_golden(create, "user_create")
    assert_golden(update, "user_update")
    assert_golden(delete, "user_delete")


def test_user_without_optional_fields_leaves_them_out(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/user/new", {"Identifier": "bob"})
    (create,) = _envelopes(events)
    assert_golden(create, "user_create_minimal")


def test_interface_create_update_delete_envelopes(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/interface/new", interface_body(Dns=["10.11.12.1"], DnsSearch=["wg.lan"]))
    api.ok(
        "PUT",
        "/interface/by-id/wg0",
        interface_body(
            Dns=["10.11.12.1"],
            DnsSearch=["wg.lan", "corp.lan"],
            FirewallMark=51820,
            RoutingTable="off",
            PostUp="iptables -A FORWARD -i %i -j ACCEPT",
            PeerDefMtu=1380,
            PeerDefFirewallMark=7,
            PeerDefRoutingTable="1234",
            PeerDefPreUp="echo up",
            PeerDefDnsSearch=["wg.lan"],
        ),
    )
    api.ok("DELETE", "/interface/by-id/wg0", status=204)
    create, update, delete = _envelopes(events)
    assert_golden(create, "interface_create")
    assert_golden(update, "interface_update")
    assert_golden(delete, "interface_delete")  # Disabled + DisabledReason "deleted", as wg-portal


def test_interface_without_peer_defaults_leaves_them_out(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    private, public = KEYS["iface"]
    api.ok(
        "POST",
        "/interface/new",
        {"Identifier": "wg9", "Mode": "client", "PrivateKey": private, "PublicKey": public},
    )
    (create,) = _envelopes(events)
    assert_golden(create, "interface_create_minimal")  # Addresses [] (never null), no PeerDef*


def test_peer_create_update_delete_envelopes(api: Api, events: Callable[[], list[Event]]) -> None:
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok(
        "PUT",
        "/peer/by-id/" + enc(KEYS["alpha"][1]),
        peer_body(
            "alpha",
            UserIdentifier="alice",
            Disabled=True,
            DisabledReason="lost laptop",
            ExpiresAt="2030-01-31",
            Notes="replaced",
            ExtraAllowedIPs=["192.168.50.0/24", "192.168.51.0/24"],
            CheckAliveAddress="10.11.12.2",
            DnsSearch={"Value": ["wg.lan", "corp.lan"]},
            Mtu={"Value": 1380},
            FirewallMark={"Value": 9},
            RoutingTable={"Value": "auto"},
            PreUp={"Value": "echo pre-up"},
            PostDown={"Value": "echo post-down"},
        ),
    )
    api.ok("DELETE", "/peer/by-id/" + enc(KEYS["alpha"][1]), status=204)
    envelopes = _envelopes(events)[2:]  # after the interface and the user
    create, update, delete = envelopes
    assert_golden(create, "peer_create")
    assert_golden(update, "peer_update")
    assert_golden(delete, "peer_delete")
    expires = datetime.fromisoformat(update["payload"]["ExpiresAt"])  # type: ignore[index]
    assert expires == datetime(2030, 1, 31, tzinfo=UTC)


def test_peer_without_options_has_empty_lists_and_strings(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    public = KEYS["beta"][1]
    api.ok("POST", "/peer/new", {"Identifier": public, "InterfaceIdentifier": "wg0"})
    assert_golden(_envelopes(events)[-1], "peer_create_minimal")


def test_peer_key_change_sends_delete_for_old_and_update_for_new(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/peer/new", peer_body("alpha"))
    private, public = KEYS["gamma"]
    rekeyed = peer_body("alpha", PublicKey=public, PrivateKey=private)  # Identifier: still old
    answer = api.ok("PUT", "/peer/by-id/" + enc(KEYS["alpha"][1]), rekeyed)
    assert answer["Identifier"] == public
    delete, update = _envelopes(events)[-2:]
    assert_golden(delete, "peer_rekey_delete")
    assert_golden(update, "peer_rekey_update")


def test_user_delete_disables_its_peers_with_an_update_each(
    api: Api, events: Callable[[], list[Event]]
) -> None:
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok("DELETE", "/user/by-id/alice", status=204)
    user_delete, peer_update = _envelopes(events)[-2:]
    assert user_delete["event"] == "delete"
    assert_golden(peer_update, "peer_update_user_deleted")


def test_secrets_are_sent_only_with_include_secrets(
    api_factory: Callable[..., Api], events: Callable[[], list[Event]]
) -> None:
    api = api_factory({"include_secrets": True})
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/peer/new", peer_body("alpha"))
    interface, peer = _envelopes(events)
    assert_golden(interface, "interface_create_with_secrets")
    assert_golden(peer, "peer_create_with_secrets")
