"""wg-webhooks beside a (fake) wg-portal: the real API with ingest on, a relay, a Celery worker
and a receiver; wg-portal's webhooks are the fixture files it would send, byte for byte."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.config import Settings
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wg-portal"
INGEST_KEY = "Basic dXNlcm5hbWU6cGFzc3dvcmQ="  # what wg-portal's webhook docs show


@pytest.fixture(autouse=True)
def utc_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Events carry times in the host's offset (as wg-portal's do); the fixtures' are UTC, so the
    API (in this process) runs in UTC whatever the machine's zone is."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fixture_bytes(name: str) -> bytes:
    """What wg-portal sends for `name` (tests/fixtures/wg-portal/<name>.json)."""
    return (FIXTURES / f"{name}.json").read_bytes()


@dataclass
class Bridge:
    url: str
    settings: Settings
    receiver: Receiver
    db: psycopg.Connection[Any]
    delivering: bool

    def send(self, body: bytes, authorization: str | None = INGEST_KEY) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return requests.post(f"{self.url}/ingest/wg-portal", data=body, headers=headers, timeout=30)

    def ok(self, body: bytes) -> dict[str, Any]:
        answer = self.send(body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def received(self, count: int) -> list[bytes]:
        """The webhook bodies once there are at least `count`: those the receiver got (in
        arrival order) when relay and worker run, else the recorded ones (what every attempt
        sends, byte for byte) in commit order."""
        if not self.delivering:
            rows = self.db.execute("SELECT body FROM webhook_events ORDER BY id").fetchall()
            assert len(rows) >= count, f"{len(rows)} events recorded, expected {count}"
            return [body.encode() for (body,) in rows]
        wait_for(lambda: self.receiver.count() >= count, what=f"{count} webhooks")
        with self.receiver.lock:
            return [r.body for r in self.receiver.requests]

    def counts(self) -> dict[str, int]:
        tables = ("users", "interfaces", "peers", "peer_status", "webhook_events")
        return {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def envelope_of(body: bytes) -> tuple[str, str]:
    data = json.loads(body)
    return data["event"], data["entity"]


def only(bodies: list[bytes], event: str, entity: str) -> bytes:
    """The one body about (event, entity): arrival order across keys is not guaranteed."""
    [body] = [b for b in bodies if envelope_of(b) == (event, entity)]
    return body


StartBridge = Callable[..., Bridge]


@pytest.fixture
def start_bridge(
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
    receiver: Receiver,
    db: psycopg.Connection[Any],
) -> StartBridge:
    def start(
        webhook: dict[str, Any] | None = None,
        authentication: str = INGEST_KEY,
        deliver: bool = False,
    ) -> Bridge:
        path, settings = config_factory(
            {"url": receiver.url, **(webhook or {})},
            ingest={"authentication": authentication},
        )
        if deliver:
            procs = processes_factory(path)
            procs.worker()
            procs.relay()
        return Bridge(api_url_factory(settings), settings, receiver, db, deliver)

    return start
