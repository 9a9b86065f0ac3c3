"""Hostile and broken input to the REST API: a clear 4xx naming the problem, nothing written,
never a 5xx. Metacharacters that are legal in an identifier are stored verbatim, never run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from services.api.limits import MAX_BODY_BYTES
from tests.api.conftest import interface_body, peer_body
from tests.security.conftest import Client

Rows = Callable[[], dict[str, int]]


def _error(answer_body: bytes | str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(answer_body)
    assert set(found) == {"Code", "Message"}, found
    return found


# --- size --------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_writes_nothing(client: Client, rows: Rows) -> None:
    before = rows()
    answer = client.request(
        "POST", "/user/new", json={"Identifier": "big@x.test", "Notes": "x" * MAX_BODY_BYTES}
    )
    assert answer.status_code == 413
    assert "larger than 1024 KiB" in _error(answer.content)["Message"]
    assert rows() == before


def test_a_chunked_body_over_the_limit_is_413(client: Client, rows: Rows) -> None:
    before = rows()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts what arrives
        yield b'{"Identifier": "big@x.test", "Notes": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}'

    answer = client.request(
        "POST", "/user/new", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert _error(answer.content)["Code"] == 413
    assert rows() == before


def test_a_huge_declared_length_is_refused_without_waiting_for_the_body(client: Client) -> None:
    status, body = client.raw(
        "POST",
        "/api/v1/user/new",
        headers={"Content-Type": "application/json", "Content-Length": str(10**12)},
    )
    assert status == 413
    assert _error(body)["Code"] == 413


def test_a_malformed_content_length_is_400(client: Client) -> None:
    status, _ = client.raw("POST", "/api/v1/user/new", b"{}", {"Content-Length": "12abc"})
    assert status == 400


# --- types, unknown fields, huge strings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/user/new", {"Identifier": 123}, "Identifier"),
        ("/user/new", {"Identifier": None}, "Identifier"),
        ("/user/new", {"Identifier": "a@x.test", "IsAdmin": "yes"}, "IsAdmin"),
        ("/user/new", {"Identifier": "a@x.test", "Notes": ["x"]}, "Notes"),
        ("/user/new", {"Identifier": "a@x.test", "Disabled": 1}, "Disabled"),
        ("/user/new", {"Identifier": "a@x.test", "Bogus": 1}, "Bogus"),
        ("/user/new", {"Identifier": "a@x.test", "identifier": "b@x.test"}, "identifier"),
        ("/user/new", {"Identifier": "x" * 10_000}, "Identifier"),
        ("/user/new", {"Identifier": "a@x.test", "Notes": "n" * 100_000}, "Notes"),
        ("/user/new", {"Identifier": "a\x00b@x.test"}, "Identifier"),
        ("/user/new", {"Identifier": " a@x.test"}, "Identifier"),
        ("/interface/new", interface_body(ListenPort="51820"), "ListenPort"),
        ("/interface/new", interface_body(ListenPort=70000), "ListenPort"),
        ("/interface/new", interface_body(Mtu=-1), "Mtu"),
        ("/interface/new", interface_body(DisplayName="d" * 100_000), "DisplayName"),
        ("/interface/new", interface_body(Addresses="10.0.0.1/24"), "Addresses"),
        ("/interface/new", interface_body(Unknown={"deep": [1, 2]}), "Unknown"),
        ("/peer/new", peer_body(Addresses=["10.0.0.300/32"]), "Addresses"),
        ("/peer/new", peer_body(Endpoint={"Value": "", "Bogus": True}), "Endpoint"),
        ("/peer/new", peer_body(PrivateKey="not a key"), "PrivateKey"),
    ],
)
def test_a_bad_field_is_400_naming_it_and_writes_nothing(
    client: Client, rows: Rows, path: str, body: dict[str, Any], field: str
) -> None:
    if path == "/peer/new":
        client.request("POST", "/interface/new", json=interface_body()).raise_for_status()
    before = rows()
    answer = client.request("POST", path, json=body)
    assert answer.status_code == 400, answer.text
    assert field in _error(answer.content)["Message"]
    assert rows() == before


NOT_THE_MODEL = [
    b"[]",
    b'"just a string"',
    b"42",
    b"null",
    b"not json{",
    b'{"Identifier": "a@x.test"',
    b"\xff\xfe{}",
    b'{"Identifier": "a@x.test", "Identifier": 7}',
]


def test_a_body_that_is_not_an_object_of_the_model_is_400(client: Client, rows: Rows) -> None:
    before = rows()
    for raw in NOT_THE_MODEL:
        status, body = client.raw(
            "POST", "/api/v1/user/new", raw, {"Content-Type": "application/json"}
        )
        assert status == 400, (raw, body)
        assert _error(body)["Code"] == 400
    assert rows() == before


# --- SQL and shell metacharacters --------------------------------------------------------------

HOSTILE = [
    "robert'); DROP TABLE users;--@x.test",
    "' OR '1'='1",
    '"; DELETE FROM webhook_events; --',
    "$(reboot)@x.test",
    "`id`@x.test",
    "a; rm -rf / #@x.test",
    "a | nc 127.0.0.1 9 && b",
    "%s%s%s%n",
    "{{7*7}}${7*7}",
    "\\'\\\"\\\\",
]


def test_metacharacters_in_identifiers_and_notes_are_stored_verbatim(
    client: Client, rows: Rows
) -> None:
    for value in HOSTILE:
        before = rows()
        answer = client.request("POST", "/user/new", json={"Identifier": value, "Notes": value})
        assert answer.status_code in (200, 400), (value, answer.text)
        if answer.status_code == 400:  # refused as a value: then nothing was written
            assert rows() == before
            continue
        stored = client.request("GET", f"/user/by-id/{quote(value, safe='')}")
        assert stored.status_code == 200, value
        assert (stored.json()["Identifier"], stored.json()["Notes"]) == (value, value)
        after = rows()  # one user and its one event: no statement ran but the insert
        assert after["users"] == before["users"] + 1
        assert after["webhook_events"] == before["webhook_events"] + 1


def test_metacharacters_in_a_path_id_find_nothing(client: Client, rows: Rows) -> None:
    before = rows()
    for value in HOSTILE:
        for method in ("GET", "DELETE"):
            answer = client.request(method, f"/user/by-id/{quote(value, safe='')}")
            assert answer.status_code == 404, (value, answer.text)
    assert rows() == before


# --- `..` and encoded slashes in path ids -------------------------------------------------------

TRAVERSALS = [
    "/api/v1/user/by-id/../../../etc/passwd",
    "/api/v1/user/by-id/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/v1/user/by-id/%2e%2e%2f%2e%2e%2fadmin@wgportal.local",
    "/api/v1/user/by-id/..%5c..%5cwindows",
    "/api/v1/user/by-id/alice@x.test%2F..%2Fbob@x.test",
    "/api/v1/user/by-id/%2e%2e",
    "/api/v1/user/by-id/%00",
    "/api/v1/user/by-id/%ff%fe",
    "/api/v1/peer/by-id/..%2F..%2F",
    "/api/v1/interface/by-id/..",
    "/api/v1/interface/by-id/..%2Fwg0",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_dot_dot_and_encoded_slashes_in_a_path_id_are_4xx_and_touch_nothing(
    client: Client, rows: Rows, path: str
) -> None:
    client.request("POST", "/user/new", json={"Identifier": "alice@x.test", "Notes": "kept"})
    client.request("POST", "/interface/new", json=interface_body()).raise_for_status()
    before = rows()
    body = json.dumps({"Identifier": "alice@x.test", "Notes": "changed"}).encode()
    for method in ("GET", "PUT", "DELETE"):
        status, answer = client.raw(
            method, path, body if method == "PUT" else b"", {"Content-Type": "application/json"}
        )
        assert 400 <= status < 500, (method, status, answer)
    assert rows() == before
    alice = client.request("GET", "/user/by-id/alice@x.test").json()
    assert alice["Notes"] == "kept"
