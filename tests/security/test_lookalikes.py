"""Look-alike user identifiers and e-mail addresses through the REST API: invisible and control
characters refused (400 naming the field), NFKC applied, e-mail identifiers compared
case-insensitively (409), nothing written by a refusal."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.domain import validation
from tests.security.conftest import Client

Rows = Callable[[], dict[str, int]]

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "C1 next line": "\x85",
    "C0 bell": "\x07",
    "line separator": "\u2028",
}


@pytest.fixture
def alice(client: Client) -> None:
    answer = client.request("POST", "/user/new", json={"Identifier": "alice@example.com"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", ["Identifier", "Email"])
def test_an_invisible_or_control_character_is_a_400_naming_the_field(
    field: str, char: str, client: Client, rows: Rows, alice: None
) -> None:
    before = rows()
    body = {"Identifier": "bob@example.com", field: f"ali{char}ce@example.com"}
    answer = client.request("POST", "/user/new", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Message"].startswith(f"{field}: must not contain invisible")
    assert rows() == before


def test_an_e_mail_identifier_in_another_case_is_the_same_user(
    client: Client, rows: Rows, alice: None
) -> None:
    before = rows()
    answer = client.request("POST", "/user/new", json={"Identifier": "ALICE@example.com"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["Message"].startswith("Identifier: 'ALICE@example.com' is user")
    assert rows() == before


def test_the_admins_identifier_in_another_case_is_refused(client: Client, rows: Rows) -> None:
    before = rows()
    answer = client.request("POST", "/user/new", json={"Identifier": "ADMIN@wgportal.local"})
    assert answer.status_code == 409, answer.text
    assert rows() == before


def test_identifiers_and_e_mails_are_stored_in_nfkc_form(client: Client) -> None:
    fullwidth = "".join(chr(0xFF41 + ord(c) - ord("a")) for c in "carol")  # U+FF41...
    body = {"Identifier": f"{fullwidth}@example.com", "Email": f"{fullwidth}@example.com"}
    answer = client.request("POST", "/user/new", json=body)
    assert answer.status_code == 200, answer.text
    stored = client.request("GET", "/user/by-id/carol@example.com")
    assert stored.status_code == 200
    assert stored.json()["Email"] == "carol@example.com"


def test_identifiers_that_are_not_e_mails_keep_their_case(client: Client) -> None:
    for identifier in ("Bob", "bob"):
        answer = client.request("POST", "/user/new", json={"Identifier": identifier})
        assert answer.status_code == 200, answer.text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.text(max_size=5),
    char=st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp"], exclude_characters="\x00"),
    tail=st.text(max_size=5),
)
def test_no_invisible_character_survives_validation(head: str, char: str, tail: str) -> None:
    with pytest.raises(ValueError, match=r"invisible or control|NUL"):
        validation.visible(head + char + tail)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8")))
def test_what_validation_accepts_is_nfkc_and_visible(value: str) -> None:
    try:
        accepted = validation.visible(value)
    except ValueError:
        return
    assert unicodedata.is_normalized("NFKC", accepted)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in accepted)
