"""The endpoints API on a real uvicorn and database: what it refuses, what it stores, and what
it never shows back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.config import Settings
from services.signing_keys import new_signing_key, new_signing_secret, public_key

ADMIN = ("admin@wgportal.local", "test-admin-token")
ROUTE = "/api/v1/webhooks/endpoints"


@pytest.fixture
def api(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> str:
    _, settings = config_factory(
        {"endpoints": [{"name": "billing", "url": "http://127.0.0.1:9/billing"}]}
    )
    return api_url_factory(settings)


def _call(method: str, url: str, body: Any = None) -> requests.Response:
    return requests.request(method, url, json=body, auth=ADMIN, timeout=10)


def _stored(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute("SELECT name FROM webhook_runtime_endpoints").fetchall()


def _generation(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT generation FROM webhook_endpoint_generation").fetchone()
    assert row is not None
    return int(row[0])


def test_add_then_get_shows_settings_and_masks_every_secret(
    api: str, db: psycopg.Connection[Any]
) -> None:
    key = new_signing_key()
    body = {
        "Name": "crm",
        "Url": "http://user:pw@127.0.0.1:9/crm?token=abc",
        "Authentication": "Bearer crm-token-123",
        "Events": ["create"],
        "Timeout": "3s",
        "RetrySchedule": ["1s", "2s"],
        "MaxInFlight": 4,
        "Headers": {"X-Tenant": "tenant-secret-77"},
        "SigningSecret": new_signing_secret(),
        "SigningKey": key,
        "PropagateTrace": True,
    }
    created = _call("POST", f"{api}{ROUTE}", body)
    assert created.status_code == 200, created.text
    shown = _call("GET", f"{api}{ROUTE}/crm").json()
    assert shown["Source"] == "api"
    assert shown["Url"] == "http://***@127.0.0.1:9/crm?***"
    assert shown["Events"] == ["create"]
    assert shown["Timeout"] == "3s" and shown["RetrySchedule"] == ["1s", "2s"]
    assert shown["MaxInFlight"] == 4 and shown["PropagateTrace"] is True
    assert shown["Headers"] == {"X-Tenant": "***"}
    assert shown["Authentication"] == "***"
    assert shown["SigningSecrets"] == 1
    assert shown["SigningPublicKey"] == public_key(key)
    listing = _call("GET", f"{api}{ROUTE}").text
    for secret in ("crm-token-123", "tenant-secret-77", body["SigningSecret"], key, "pw", "abc"):
        assert secret not in listing and secret not in created.text
    # and not in the database either: a dump alone reveals nothing
    dump = json.dumps(db.execute("SELECT to_jsonb(e) FROM webhook_runtime_endpoints e").fetchall())
    for secret in ("crm-token-123", "tenant-secret-77", body["SigningSecret"], key):
        assert secret not in dump


def test_config_endpoints_are_listed_read_only(api: str, db: psycopg.Connection[Any]) -> None:
    listed = {e["Name"]: e for e in _call("GET", f"{api}{ROUTE}").json()}
    assert listed["billing"]["Source"] == "config"
    before = _generation(db)
    for method, path, body in (
        ("PUT", "/billing", {"Url": "http://127.0.0.1:9/other"}),
        ("DELETE", "/billing", None),
        ("POST", "/billing/rotate-secret", {}),
        ("POST", "", {"Name": "billing", "Url": "http://127.0.0.1:9/x"}),
    ):
        answer = _call(method, f"{api}{ROUTE}{path}", body)
        assert answer.status_code == 409, (method, path, answer.text)
        assert "config file" in answer.json()["Message"]
    assert _stored(db) == [] and _generation(db) == before


BAD = [
    ({"Url": "http://127.0.0.1:9/x"}, "Name"),
    ({"Name": "bad name!", "Url": "http://127.0.0.1:9/x"}, "Name"),
    ({"Name": "n"}, "Url"),
    ({"Name": "n", "Url": "ftp://127.0.0.1/x"}, "Url"),
    ({"Name": "n", "Url": "http://169.254.169.254/latest"}, "Url"),
    ({"Name": "n", "Url": "http://nowhere.invalid/"}, "Url"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Timeout": "soon"}, "Timeout"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Timeout": "2h"}, "Timeout"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "RetrySchedule": ["5s", "x"]}, "RetrySchedule"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "MaxInFlight": 0}, "MaxInFlight"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Events": ["explode"]}, "Events"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Entities": ["robot"]}, "Entities"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "SigningSecret": "nope!"}, "SigningSecret"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "SigningKey": "whsk_AAAA"}, "SigningKey"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Colour": "blue"}, "Colour"),
    ({"Name": "n", "Url": "http://127.0.0.1:9/", "Headers": {"X-A": "a\nb"}}, "Headers"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    api: str, db: psycopg.Connection[Any], body: dict[str, Any], field: str
) -> None:
    before = _generation(db)
    answer = _call("POST", f"{api}{ROUTE}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Message"].startswith(f"{field}"), answer.json()
    assert _stored(db) == [] and _generation(db) == before


@pytest.mark.parametrize(
    ("headers", "authentication"),
    [
        ({"Content-Type": "text/plain"}, None),
        ({"content-length": "1"}, None),
        ({"HOST": "evil"}, None),
        ({"User-Agent": "me"}, None),
        ({"Webhook-Signature": "v1,forged"}, None),
        ({"webhook-id": "1"}, None),
        ({"Authorization": "Bearer a"}, "Bearer b"),
    ],
)
def test_header_names_the_service_owns_are_refused(
    api: str, db: psycopg.Connection[Any], headers: dict[str, str], authentication: str | None
) -> None:
    body: dict[str, Any] = {"Name": "n", "Url": "http://127.0.0.1:9/", "Headers": headers}
    if authentication:
        body["Authentication"] = authentication
    answer = _call("POST", f"{api}{ROUTE}", body)
    assert answer.status_code == 400, answer.text
    message = answer.json()["Message"]
    assert message.startswith("Headers:") and next(iter(headers)) in message
    for value in headers.values():
        assert value not in message
    assert _stored(db) == []


def test_header_values_may_not_name_the_services_own_variables(
    api: str, db: psycopg.Connection[Any]
) -> None:
    body = {"Name": "n", "Url": "http://127.0.0.1:9/", "Headers": {"X-Leak": "${DATABASE_URL}"}}
    answer = _call("POST", f"{api}{ROUTE}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["Message"] == (
        "Headers: X-Leak may use only ${WG_WEBHOOKS_HEADER_...} variables, not ${DATABASE_URL}"
    )
    assert _stored(db) == []


def test_authorization_header_is_allowed_without_authentication(api: str) -> None:
    body = {"Name": "n", "Url": "http://127.0.0.1:9/", "Headers": {"Authorization": "Token x"}}
    assert _call("POST", f"{api}{ROUTE}", body).status_code == 200


def test_a_bad_update_changes_nothing(api: str, db: psycopg.Connection[Any]) -> None:
    assert _call("POST", f"{api}{ROUTE}", {"Name": "n", "Url": "http://127.0.0.1:9/a"}).ok
    sealed = db.execute("SELECT sealed, updated_at FROM webhook_runtime_endpoints").fetchone()
    answer = _call("PUT", f"{api}{ROUTE}/n", {"Url": "gopher://127.0.0.1/"})
    assert answer.status_code == 400 and answer.json()["Message"].startswith("Url")
    assert db.execute("SELECT sealed, updated_at FROM webhook_runtime_endpoints").fetchone() == (
        sealed
    )
    assert _call("GET", f"{api}{ROUTE}/n").json()["Url"] == "http://127.0.0.1:9/a"


def test_rotation_answers_the_new_secret_once_and_counts_the_old_one(api: str) -> None:
    first = new_signing_secret()
    assert _call(
        "POST", f"{api}{ROUTE}", {"Name": "n", "Url": "http://127.0.0.1:9/", "SigningSecret": first}
    ).ok
    rotated = _call("POST", f"{api}{ROUTE}/n/rotate-secret", {"Grace": "1h"})
    assert rotated.status_code == 200, rotated.text
    answer = rotated.json()
    assert answer["SigningSecret"].startswith("whsec_") and answer["PreviousValidUntil"]
    shown = _call("GET", f"{api}{ROUTE}/n").text
    assert answer["SigningSecret"] not in shown and first not in shown
    assert json.loads(shown)["SigningSecrets"] == 2
    bad = _call("POST", f"{api}{ROUTE}/n/rotate-secret", {"Grace": "forever"})
    assert bad.status_code == 400 and bad.json()["Message"].startswith("Grace")
    assert _call("POST", f"{api}{ROUTE}/missing/rotate-secret", {}).status_code == 404


def test_remove_then_unknown(api: str, db: psycopg.Connection[Any]) -> None:
    assert _call("POST", f"{api}{ROUTE}", {"Name": "n", "Url": "http://127.0.0.1:9/"}).ok
    assert _call("DELETE", f"{api}{ROUTE}/n").status_code == 204
    assert _stored(db) == []
    assert _call("DELETE", f"{api}{ROUTE}/n").status_code == 404
    assert _call("GET", f"{api}{ROUTE}/n").status_code == 404
