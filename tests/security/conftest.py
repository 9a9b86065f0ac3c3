"""A real API (uvicorn on 127.0.0.1) on the test's database, and a client that can send raw
paths: `requests` resolves `..` segments before sending, which would hide what is tested."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from services.config import Settings

ADMIN = ("admin@wgportal.local", "test-admin-token")
TABLES = ("users", "interfaces", "peers", "webhook_events", "webhook_deliveries")


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.auth = ADMIN

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}/api/v1{path}", timeout=30, **kwargs)

    def raw(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send `path` byte for byte (no dot-segment removal, no re-encoding)."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        token = base64.b64encode(":".join(ADMIN).encode()).decode()
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            conn.putheader("Authorization", f"Basic {token}")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if "Content-Length" not in (headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            answer = conn.getresponse()
            try:
                return answer.status, answer.read()
            except ConnectionResetError:
                # The server answered and closed a connection it refuses to read further (a
                # malformed request): the unread request bytes make the kernel reset it, which
                # can lose the answer's body, never its status line.
                return answer.status, b""
        finally:
            conn.close()


@pytest.fixture
def client(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> Client:
    # an endpoint on the discard port: events are recorded, and no worker runs to send them
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    return Client(api_url_factory(settings))


@pytest.fixture
def rows(db: psycopg.Connection[Any]) -> Callable[[], dict[str, int]]:
    """Row counts of the entity and outbox tables: equal counts mean nothing was written."""

    def count() -> dict[str, int]:
        found = {}
        for table in TABLES:
            row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
            found[table] = row[0] if row else -1
        return found

    return count
