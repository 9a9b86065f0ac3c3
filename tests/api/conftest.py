"""The REST v1 API on a real uvicorn and a fresh database per test, driven with `requests`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import requests

from services.config import Settings

ADMIN = ("admin@wgportal.local", "test-admin-token")

# Fixed key pairs (private, public) so golden files do not depend on randomness. gamma's public
# key starts with "//" and holds "+": the hardest kind of identifier to put in a path.
KEYS = {
    "iface": (
        "EREREREREREREREREREREREREREREREREREREREREQE=",
        "n6Cgqtn3YjXtBf5YW09Xyng0awWaykeVDxCYD/MNHBw=",
    ),
    "alpha": (
        "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIgI=",
        "vtUGaQpz9QMluFddga8gxnJYxk3rSefGpPl0g6wvExk=",
    ),
    "beta": (
        "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMwM=",
        "X15UXPE8ou92BYyHFXEbt3fXy9Qb8l6zqd5GpLo0dnw=",
    ),
    "gamma": (
        "Wyfjj74fQg8ZUZxfqFvBoJvzNGFabTY+2lPt+qW0Apo=",
        "//F86jY+1YdR78pR9ccm7vnplp6Z2J+Wn2oqSAYvRRo=",
    ),
}
PSK = "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVQU="


def interface_body(**overrides: Any) -> dict[str, Any]:
    """A valid server interface wg0, as a client would POST it."""
    private, public = KEYS["iface"]
    body: dict[str, Any] = {
        "Identifier": "wg0",
        "DisplayName": "Office VPN",
        "Mode": "server",
        "PrivateKey": private,
        "PublicKey": public,
        "ListenPort": 51820,
        "Addresses": ["10.11.12.1/24"],
        "Mtu": 1420,
        "PeerDefNetwork": ["10.11.12.0/24"],
        "PeerDefAllowedIPs": ["10.11.12.0/24", "10.20.0.0/16"],
        "PeerDefEndpoint": "vpn.example.com:51820",
        "PeerDefDns": ["1.1.1.1", "9.9.9.9"],
        "PeerDefPersistentKeepalive": 25,
    }
    body.update(overrides)
    return body


def peer_body(name: str = "alpha", **overrides: Any) -> dict[str, Any]:
    """A valid client peer on wg0 with the fixed key pair `name`."""
    private, public = KEYS[name]
    body: dict[str, Any] = {
        "Identifier": public,
        "DisplayName": f"{name} laptop",
        "InterfaceIdentifier": "wg0",
        "PrivateKey": private,
        "PublicKey": public,
        "PresharedKey": PSK,
        "Mode": "client",
        "Addresses": ["10.11.12.2/32"],
        "Endpoint": {"Value": "vpn.example.com:51820", "Overridable": True},
        "EndpointPublicKey": {"Value": KEYS["iface"][1], "Overridable": True},
        "AllowedIPs": {"Value": ["10.11.12.0/24", "10.20.0.0/16"], "Overridable": True},
        "Dns": {"Value": ["1.1.1.1", "9.9.9.9"], "Overridable": True},
        "PersistentKeepalive": {"Value": 25, "Overridable": True},
    }
    body.update(overrides)
    return body


class Api:
    """A session against one running API; `as_` switches the Basic auth credentials."""

    def __init__(self, url: str, auth: tuple[str, str] = ADMIN) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.auth = auth

    def as_(self, auth: tuple[str, str] | None) -> Api:
        other = Api(self.url)
        other.session.auth = auth
        return other

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + "/api/v1" + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.request("POST", path, json=body)

    def put(self, path: str, body: Any) -> requests.Response:
        return self.request("PUT", path, json=body)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        answer = self.request(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None


def enc(identifier: str) -> str:
    """A peer key as a path segment, percent-encoded (`/` and `+` included)."""
    return quote(identifier, safe="")


@pytest.fixture
def settings_factory(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> Callable[..., Settings]:
    def make(webhook: dict[str, Any] | None = None, **sections: Any) -> Settings:
        _, settings = config_factory(
            {"url": "http://127.0.0.1:9/hook", **(webhook or {})}, **sections
        )
        return settings

    return make


@pytest.fixture
def api_factory(
    settings_factory: Callable[..., Settings], api_url_factory: Callable[[Settings], str]
) -> Callable[..., Api]:
    def make(webhook: dict[str, Any] | None = None, **sections: Any) -> Api:
        return Api(api_url_factory(settings_factory(webhook, **sections)))

    return make


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    return api_factory()


Event = tuple[str, str, str, dict[str, Any]]


@pytest.fixture
def events(db: psycopg.Connection[Any]) -> Callable[[], list[Event]]:
    """The recorded events so far, in id order: (event, entity, identifier, envelope)."""

    def read() -> list[Event]:
        rows = db.execute("SELECT event, entity, identifier, body FROM webhook_events ORDER BY id")
        return [(e, n, i, json.loads(b)) for e, n, i, b in rows]

    return read


@pytest.fixture
def counts(db: psycopg.Connection[Any]) -> Iterator[Callable[[], dict[str, int]]]:
    """Row counts of the entity and outbox tables: what "nothing was written" is checked with."""

    def read() -> dict[str, int]:
        tables = ("users", "interfaces", "peers", "webhook_events", "webhook_deliveries")
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]

    yield read
