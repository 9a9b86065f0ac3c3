"""POST /ingest/wg-portal: what wg-portal sends comes out as wg-webhooks' own events, durably."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.api.conftest import Api, interface_body, peer_body
from tests.bridge.conftest import (
    INGEST_KEY,
    Bridge,
    StartBridge,
    envelope_of,
    fixture_bytes,
    only,
)

SECRETS = {"include_secrets": True}
INTERFACE = "v2.1_interface_create"
PEER = "v2.1_peer_create"


def with_interface_and_peer(bridge: Bridge) -> int:
    """Ingest wg0 and alpha; the number of webhooks that makes."""
    bridge.ok(fixture_bytes(INTERFACE))
    bridge.ok(fixture_bytes(PEER))
    return 2


@pytest.mark.parametrize(
    ("name", "state_format", "before"),
    [
        ("v2.2_user_create", "peer", None),
        (INTERFACE, "peer", None),
        (PEER, "peer", INTERFACE),
        ("v2.1_peer_metric_connect", "peer_metric", "both"),
        ("seed_peer_connect", "peer", "both"),
    ],
)
def test_wg_portals_bytes_come_out_byte_for_byte(
    start_bridge: StartBridge, name: str, state_format: str, before: str | None
) -> None:
    # With secrets included and times already in this host's format (UTC here), the event
    # wg-webhooks records for a wg-portal webhook is the very body wg-portal sent.
    bridge = start_bridge({**SECRETS, "peer_state_format": state_format}, deliver=True)
    sent = 0
    if before == INTERFACE:
        bridge.ok(fixture_bytes(INTERFACE))
        sent = 1
    elif before == "both":
        sent = with_interface_and_peer(bridge)
    body = fixture_bytes(name)
    bridge.ok(body)
    assert only(bridge.received(sent + 1), *envelope_of(body)) == body


def test_a_v2_1_user_arrives_as_the_v2_2_model(start_bridge: StartBridge) -> None:
    bridge = start_bridge()
    bridge.ok(fixture_bytes("v2.1_user_create"))
    assert bridge.received(1) == [fixture_bytes("v2.2_user_create")]


def test_wg_portals_time_format_is_read_and_sent_as_this_host_sends_times(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge()
    bridge.ok(fixture_bytes("v2.2_user_create_local_time"))
    # 23:04:33.325216659+02:00: the nanoseconds Postgres cannot keep are dropped.
    assert bridge.received(1) == [fixture_bytes("v2.2_user_create")]


def _bookkeeping(body: bytes) -> dict[str, str]:
    payload = json.loads(body)["payload"]
    return {k: payload[k] for k in ("CreatedBy", "UpdatedBy", "CreatedAt", "UpdatedAt")}


def _as_sent_at(template: bytes, bookkeeping: dict[str, str]) -> bytes:
    """The fixture with the bookkeeping values another change got (same key order, same bytes)."""
    text = template.decode()
    for key, value in bookkeeping.items():
        text = re.sub(rf'"{key}":"[^"]*"', f'"{key}":{json.dumps(value)}', text, count=1)
    return text.encode()


REST_CHANGES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "v2.2_user_create",
        "/user/new",
        {
            "Identifier": "alice@example.com",
            "Email": "alice@example.com",
            "IsAdmin": True,
            "Firstname": "Alice",
            "Lastname": "Liddell",
            "Phone": "+43 1 234",
            "Department": "Research",
            "Notes": "first user",
        },
    ),
    ("v2.1_user_create", "/user/new", {}),
    (
        INTERFACE,
        "/interface/new",
        interface_body(DisplayName="wg0", Dns=["10.11.12.1"], DnsSearch=["wg.lan"]),
    ),
    (PEER, "/peer/new", peer_body()),
]
REST_CHANGES[1] = ("v2.1_user_create", "/user/new", REST_CHANGES[0][2])


@pytest.mark.parametrize(
    ("name", "path", "rest_body"), REST_CHANGES, ids=[name for name, _, _ in REST_CHANGES]
)
@pytest.mark.parametrize("include_secrets", [False, True], ids=["redacted", "secrets"])
def test_the_receiver_gets_the_bytes_the_rest_api_sends_for_the_same_change(
    start_bridge: StartBridge,
    name: str,
    path: str,
    rest_body: dict[str, Any],
    include_secrets: bool,
) -> None:
    bridge = start_bridge({"include_secrets": include_secrets}, deliver=name == PEER)
    api = Api(bridge.url)
    before = 0
    if name == PEER:
        api.ok("POST", "/interface/new", REST_CHANGES[2][2])
        before = 1
    api.ok("POST", path, rest_body)
    event, entity = envelope_of(fixture_bytes(name))
    through_api = only(bridge.received(before + 1), event, entity)
    # Forget the entity (set-up only, no event) and let wg-portal report the same change.
    bridge.db.execute("DELETE FROM peers; DELETE FROM users")
    if name != PEER:
        bridge.db.execute("DELETE FROM interfaces")
    bridge.ok(_as_sent_at(fixture_bytes(name), _bookkeeping(through_api)))
    through_ingest = [b for b in bridge.received(before + 2) if envelope_of(b) == (event, entity)][
        1
    ]
    assert through_ingest == through_api
    payload = json.loads(through_ingest)["payload"]
    if "PrivateKey" in payload:
        assert bool(payload["PrivateKey"]) is include_secrets


def test_connect_and_disconnect_flip_once_each(start_bridge: StartBridge) -> None:
    bridge = start_bridge({"peer_state_format": "peer_metric"})
    sent = with_interface_and_peer(bridge)
    for name in ("connect", "connect", "disconnect", "disconnect", "connect"):
        bridge.ok(fixture_bytes(f"v2.1_peer_metric_{name}"))
    assert [envelope_of(b) for b in bridge.received(sent + 3)[sent:]] == [
        ("connect", "peer_metric"),
        ("disconnect", "peer_metric"),
        ("connect", "peer_metric"),
    ]
    assert bridge.db.execute("SELECT is_connected, bytes_received FROM peer_status").fetchall() == [
        (True, 1860)
    ]


def test_a_peer_metric_for_an_unknown_peer_stores_the_peer_first(start_bridge: StartBridge) -> None:
    # Events of different topics overtake each other in wg-portal: a connect before the create.
    bridge = start_bridge({"peer_state_format": "peer_metric"})
    bridge.ok(fixture_bytes("v2.1_peer_metric_connect"))
    bodies = bridge.received(2)
    assert [envelope_of(b) for b in bodies] == [("create", "peer"), ("connect", "peer_metric")]
    assert bridge.db.execute("SELECT interface_identifier FROM peers").fetchall() == [("wg0",)]


def test_a_save_in_wg_portal_that_changes_nothing_sends_nothing(start_bridge: StartBridge) -> None:
    bridge = start_bridge()
    created = fixture_bytes("v2.2_user_create")
    bridge.ok(created)
    resaved = created.replace(b'"event":"create"', b'"event":"update"')
    resaved = _as_sent_at(
        resaved,
        {"UpdatedBy": "_WG_SYS_ADMIN_", "UpdatedAt": "2025-06-28T10:00:00.123456789+02:00"},
    )
    assert bridge.ok(resaved)["Recorded"] is None
    changed = resaved.replace(b'"Firstname":"Alice"', b'"Firstname":"Alicia"')
    assert bridge.ok(changed)["Recorded"] == "update"
    bodies = bridge.received(2)
    assert [json.loads(b)["payload"].get("Firstname") for b in bodies] == ["Alice", "Alicia"]
    assert bridge.db.execute("SELECT count(*) FROM webhook_events").fetchone() == (2,)


def test_a_peer_rekeyed_in_wg_portal_arrives_as_the_rest_apis_delete_and_update(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge()
    sent = with_interface_and_peer(bridge)
    old = fixture_bytes(PEER)
    bridge.ok(old.replace(b'"event":"create"', b'"event":"delete"'))
    new_key = "X15UXPE8ou92BYyHFXEbt3fXy9Qb8l6zqd5GpLo0dnw="
    rekeyed = old.replace(b'"event":"create"', b'"event":"update"').replace(
        b"vtUGaQpz9QMluFddga8gxnJYxk3rSefGpPl0g6wvExk=", new_key.encode()
    )
    bridge.ok(rekeyed)
    bodies = bridge.received(sent + 2)
    assert [(*envelope_of(b), json.loads(b)["identifier"]) for b in bodies[sent:]] == [
        ("delete", "peer", "vtUGaQpz9QMluFddga8gxnJYxk3rSefGpPl0g6wvExk="),
        ("update", "peer", new_key),
    ]


def test_an_unknown_shape_is_delivered_verbatim_and_counted(start_bridge: StartBridge) -> None:
    bridge = start_bridge(deliver=True)
    raw = fixture_bytes("v2.0_user_create")  # v2.0 sends its internal Go struct
    assert bridge.ok(raw) == {"Shape": "unrecognised", "Recorded": "create"}
    assert bridge.received(1) == [raw]
    assert bridge.db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    metrics = requests.get(f"{bridge.url}/metrics", timeout=10).text
    assert 'wg_webhooks_ingest_unrecognised_total{entity="user",event="create"} 1.0' in metrics


V2_0_WITH_SECRETS = (
    fixture_bytes("v2.0_user_create")
    .replace(b'"Password":""', b'"Password":"$2a$10$hash-of-a-password"')
    .replace(b'"ApiToken":""', b'"ApiToken":"wgportal-api-token-1234"')
)


def test_an_unknown_shape_carries_no_secret_unless_include_secrets(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge(deliver=True)
    assert bridge.ok(V2_0_WITH_SECRETS)["Shape"] == "unrecognised"
    [sent] = bridge.received(1)
    assert b"hash-of-a-password" not in sent and b"wgportal-api-token-1234" not in sent
    payload = json.loads(sent)["payload"]
    assert payload["Password"] == "" and payload["ApiToken"] == ""
    # Everything else is wg-portal's, untouched.
    expected = json.loads(V2_0_WITH_SECRETS)
    expected["payload"].update(Password="", ApiToken="")
    assert json.loads(sent) == expected


def test_an_unknown_shape_keeps_its_secrets_with_include_secrets(
    start_bridge: StartBridge,
) -> None:
    bridge = start_bridge(webhook={"include_secrets": True}, deliver=True)
    bridge.ok(V2_0_WITH_SECRETS)
    assert bridge.received(1) == [V2_0_WITH_SECRETS]


def test_a_value_the_tables_cannot_hold_is_delivered_verbatim(start_bridge: StartBridge) -> None:
    bridge = start_bridge()
    body = fixture_bytes(INTERFACE).replace(b'"Mtu":1420', b'"Mtu":65000')
    assert bridge.ok(body)["Shape"] == "unrecognised"
    expected = json.loads(body)
    expected["payload"]["PrivateKey"] = ""  # include_secrets is off, as for every event
    assert [json.loads(sent) for sent in bridge.received(1)] == [expected]
    assert bridge.db.execute("SELECT count(*) FROM interfaces").fetchone() == (0,)


@pytest.mark.parametrize("authorization", [None, "", "Basic d3Jvbmc6d3Jvbmc=", INGEST_KEY.lower()])
def test_wrong_or_missing_authorization_is_401_and_writes_nothing(
    start_bridge: StartBridge, authorization: str | None
) -> None:
    bridge = start_bridge()
    before = bridge.counts()
    answer = bridge.send(fixture_bytes("v2.2_user_create"), authorization)
    assert answer.status_code == 401
    assert bridge.counts() == before


def test_the_route_is_off_while_ingest_authentication_is_empty(start_bridge: StartBridge) -> None:
    bridge = start_bridge(authentication="")
    for authorization in (None, "", INGEST_KEY):
        answer = bridge.send(fixture_bytes("v2.2_user_create"), authorization)
        assert answer.status_code == 404
    assert bridge.counts()["webhook_events"] == 0


def _envelope(**changes: Any) -> bytes:
    data = json.loads(fixture_bytes("v2.2_user_create"))
    data.update(changes)
    return json.dumps(data).encode()


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not-json", b'{"event":"create",', "body: not valid JSON"),
    ("not-utf8", b'{"event":"\xff"}', "body: not valid JSON"),
    ("array", b"[]", "body: must be a JSON object"),
    ("no-payload", b'{"event":"create","entity":"user","identifier":"a"}', "payload: is required"),
    ("extra-key", _envelope(version="2"), "version: unknown field"),
    ("bad-event", _envelope(event="explode"), "event: 'explode' is not one of"),
    ("bad-entity", _envelope(entity="group"), "entity: 'group' is not one of"),
    ("event-for-entity", _envelope(event="connect"), "event: wg-portal sends no 'connect'"),
    ("empty-identifier", _envelope(identifier=""), "identifier: must be a non-empty string"),
    ("payload-not-object", _envelope(payload=[1]), "payload: must be a JSON object"),
]


@pytest.mark.parametrize(
    ("body", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_body_is_400_naming_the_problem_and_writes_nothing(
    start_bridge: StartBridge, body: bytes, message: str
) -> None:
    bridge = start_bridge()
    before = bridge.counts()
    answer = bridge.send(body)
    assert answer.status_code == 400
    assert message in answer.json()["Message"]
    assert bridge.counts() == before
