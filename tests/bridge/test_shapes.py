"""shapes: wg-portal's models read back into exactly the state they were written from.

The payload modules write a row as wg-portal's webhook model; `recognise` must read that model
back into the same columns, for any row: that is what makes an ingested event's bytes equal the
REST API's. And what is not exactly a model is not recognised (it is delivered verbatim).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.bridge.shapes import (
    EntityChange,
    Envelope,
    Malformed,
    StatusChange,
    go_time,
    parse_envelope,
    recognise,
)
from services.collector.rules import Publish
from services.payloads.interface import interface_payload
from services.payloads.peer import peer_payload
from services.payloads.peer_status import peer_metric_payload, peer_state_payload
from services.payloads.user import user_payload
from tests.bridge.conftest import fixture_bytes

text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
item = st.text(st.characters(codec="utf-8", exclude_characters="\x00,"), min_size=1, max_size=10)
items = st.lists(item, max_size=3)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
optional_times = st.none() | times
ints = st.integers(0, 65535)
marks = st.integers(0, 2**32 - 1)
counters = st.integers(0, 2**63 - 1)

BOOKKEEPING = {
    "created_by": text,
    "updated_by": text,
    "created_at": times,
    "updated_at": times,
}
USER = st.fixed_dictionaries(
    {
        **BOOKKEEPING,
        "identifier": item,
        "email": text,
        "auth_sources": st.lists(
            st.fixed_dictionaries(
                {"Source": st.sampled_from(["db", "ldap", "oauth"]), "ProviderName": text}
            ),
            max_size=2,
        ),
        "is_admin": st.booleans(),
        **dict.fromkeys(("firstname", "lastname", "phone", "department", "notes"), text),
        "disabled": optional_times,
        "disabled_reason": text,
        "locked": optional_times,
        "locked_reason": text,
    }
)
HOOKS = ("pre_up", "post_up", "pre_down", "post_down")
PEER = st.fixed_dictionaries(
    {
        **BOOKKEEPING,
        "identifier": item,
        "endpoint": text,
        "endpoint_public_key": text,
        "allowed_ips": items,
        "extra_allowed_ips": items,
        "preshared_key": text,
        "persistent_keepalive": ints,
        "display_name": text,
        "user_identifier": text,
        "interface_identifier": text,
        "disabled": optional_times,
        "disabled_reason": text,
        "expires_at": optional_times,
        "notes": text,
        "automatically_created": st.booleans(),
        "private_key": text,
        "interface_type": st.sampled_from(["server", "client", "any"]),
        "addresses": items,
        "check_alive_address": text,
        "dns": items,
        "dns_search": items,
        "mtu": ints,
        "firewall_mark": marks,
        "routing_table": text,
        **dict.fromkeys(HOOKS, text),
    }
)
INTERFACE = st.fixed_dictionaries(
    {
        **BOOKKEEPING,
        "identifier": item,
        "private_key": text,
        "public_key": text,
        "listen_port": ints,
        "addresses": items,
        "dns": items,
        "dns_search": items,
        "mtu": ints,
        "firewall_mark": marks,
        "routing_table": text,
        **dict.fromkeys(HOOKS, text),
        "save_config": st.booleans(),
        "display_name": text,
        "type": st.sampled_from(["server", "client", "any"]),
        "driver_type": text,
        "disabled": optional_times,
        "disabled_reason": text,
        "peer_def_network": items,
        "peer_def_dns": items,
        "peer_def_dns_search": items,
        "peer_def_endpoint": text,
        "peer_def_allowed_ips": items,
        "peer_def_mtu": ints,
        "peer_def_persistent_keepalive": ints,
        "peer_def_firewall_mark": marks,
        "peer_def_routing_table": text,
        **{f"peer_def_{hook}": text for hook in HOOKS},
    }
)
STATUS = st.fixed_dictionaries(
    {
        "is_connected": st.booleans(),
        "is_pingable": st.booleans(),
        "last_ping": optional_times,
        "bytes_received": counters,
        "bytes_transmitted": counters,
        "endpoint": text,
        "last_handshake": optional_times,
        "last_session_start": optional_times,
        "updated_at": times,
    }
)


def _wire(event: str, entity: str, identifier: str, payload: dict[str, Any]) -> Envelope:
    """The envelope as it crosses the network (JSON text and back)."""
    body = {"event": event, "entity": entity, "identifier": identifier, "payload": payload}
    return parse_envelope(json.dumps(body).encode())


def _consistent(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the domain keeps it: no reason without its flag (the models omit empty values)."""
    if row.get("disabled") is None and "disabled_reason" in row:
        row["disabled_reason"] = ""
    if "locked" in row and row["locked"] is None:
        row["locked_reason"] = ""
    return row


def _flat(payload: dict[str, Any]) -> dict[str, Any]:
    """The v2.1 user model: its one auth source as `Source` and `ProviderName`, in that place."""
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "AuthSources":
            flat.update(value[0])
        else:
            flat[key] = value
    return flat


@settings(max_examples=150, deadline=None)
@given(USER.map(_consistent), st.booleans())
def test_a_user_model_reads_back_into_its_row(row: dict[str, Any], v2_1: bool) -> None:
    if v2_1:  # exactly one auth source
        row["auth_sources"] = row["auth_sources"][:1] or [{"Source": "db", "ProviderName": ""}]
    payload = _flat(user_payload(row)) if v2_1 else user_payload(row)
    change = recognise(_wire("update", "user", row["identifier"], payload))
    assert isinstance(change, EntityChange)
    assert change.shape == ("user_v2.1" if v2_1 else "user_v2.2")
    assert change.state == {k: v for k, v in row.items() if k != "identifier"}


@settings(max_examples=150, deadline=None)
@given(PEER.map(_consistent))
def test_a_peer_model_reads_back_into_its_row(row: dict[str, Any]) -> None:
    change = recognise(_wire("create", "peer", row["identifier"], peer_payload(row, True)))
    assert isinstance(change, EntityChange)
    assert change.state == {k: v for k, v in row.items() if k != "identifier"}


@settings(max_examples=150, deadline=None)
@given(INTERFACE.map(_consistent))
def test_an_interface_model_reads_back_into_its_row(row: dict[str, Any]) -> None:
    payload = interface_payload(row, True)
    change = recognise(_wire("update", "interface", row["identifier"], payload))
    assert isinstance(change, EntityChange)
    assert change.state == {k: v for k, v in row.items() if k != "identifier"}


@settings(max_examples=100, deadline=None)
@given(STATUS, PEER.map(_consistent), st.booleans())
def test_both_status_formats_read_back_into_the_status_row(
    status: dict[str, Any], peer: dict[str, Any], metric: bool
) -> None:
    key = peer["identifier"]
    row = {**status, "peer_identifier": key}
    event = "connect" if status["is_connected"] else "disconnect"
    if metric:
        envelope = _wire(event, "peer_metric", key, peer_metric_payload(row, peer, True))
    else:
        envelope = _wire(event, "peer", key, peer_state_payload(row))
    change = recognise(envelope)
    assert isinstance(change, StatusChange)
    assert change.event is Publish(event)
    expected = {k: v for k, v in status.items() if k != "is_connected"}
    if metric:
        expected["interface_identifier"] = peer["interface_identifier"] or None
        expected = {
            k: v for k, v in expected.items() if v is not None or k != "interface_identifier"
        }
        assert change.peer == {k: v for k, v in peer.items() if k != "identifier"} | {
            "identifier": key
        }
    else:
        del expected["updated_at"]  # the seed's PeerStatus has no UpdatedAt
    assert change.status == expected


@pytest.mark.parametrize(
    "change",
    [
        {"Password": ""},  # v2.0's domain.User
        {"Email": None},
        {"IsAdmin": "true"},
        {"CreatedAt": "yesterday"},
        {"AuthSources": [{"Source": "db"}]},
    ],
)
def test_a_payload_that_is_not_exactly_a_model_is_not_recognised(change: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    row = _consistent(
        {
            "created_by": "",
            "updated_by": "",
            "created_at": now,
            "updated_at": now,
            "identifier": "a",
            "email": "",
            "auth_sources": [],
            "is_admin": False,
            **dict.fromkeys(("firstname", "lastname", "phone", "department", "notes"), ""),
            "disabled": None,
            "disabled_reason": "",
            "locked": None,
            "locked_reason": "",
        }
    )
    payload = {**user_payload(row), **change}
    assert recognise(_wire("create", "user", "a", payload)) is None


def test_an_identifier_other_than_the_models_is_not_recognised() -> None:
    envelope = json.loads(fixture_bytes("v2.2_user_create"))
    envelope["identifier"] = "mallory@example.com"
    assert recognise(parse_envelope(json.dumps(envelope).encode())) is None


@given(times, st.integers(0, 999))
def test_go_times_keep_microseconds_and_the_instant(moment: datetime, nanos: int) -> None:
    local = moment.astimezone(timezone(timedelta(hours=2)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}{nanos:03d}+02:00"
    assert go_time(text) == moment


def test_malformed_is_a_value_error_naming_the_field() -> None:
    with pytest.raises(Malformed, match="identifier"):
        parse_envelope(b'{"event":"create","entity":"user","identifier":7,"payload":{}}')
