"""Guarantee 1 for every entity: a failing write leaves neither the change nor any event.

Failures are injected where a change has already written part of its rows and events: an outbox
write that fails halfway through a cascade, a database constraint, and a connection killed before
commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from services import outbox
from services.config import Settings
from services.domain import interfaces, peers
from services.domain.peers import PeerFields
from tests.api.conftest import KEYS, Api, enc, interface_body, peer_body


@pytest.fixture
def world(api: Api) -> Api:
    api.ok("POST", "/interface/new", interface_body())
    api.ok("POST", "/user/new", {"Identifier": "alice"})
    api.ok("POST", "/peer/new", peer_body("alpha", UserIdentifier="alice"))
    api.ok(
        "POST", "/peer/new", peer_body("beta", UserIdentifier="alice", Addresses=["10.11.12.3/32"])
    )
    return api


@pytest.fixture
def snapshot(db: psycopg.Connection[Any]) -> Callable[[], list[Any]]:
    """Every entity and outbox row: equal snapshots mean nothing was written."""

    def take() -> list[Any]:
        return [
            db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("users", "interfaces", "peers", "webhook_events", "webhook_deliveries")
        ]

    return take


@pytest.fixture
def outbox_fails_on_call(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make the n-th outbox write from now on raise (the earlier ones have written rows)."""

    def arm(n: int) -> None:
        calls = 0
        real = outbox.record

        def record(*args: Any, **kwargs: Any) -> int:
            nonlocal calls
            calls += 1
            if calls == n:
                raise RuntimeError("injected outbox failure")
            return real(*args, **kwargs)

        monkeypatch.setattr(outbox, "record", record)

    return arm


def test_interface_delete_failing_after_the_first_peer_changes_nothing(
    world: Api, snapshot: Callable[[], list[Any]], outbox_fails_on_call: Callable[[int], None]
) -> None:
    before = snapshot()
    outbox_fails_on_call(2)
    assert world.delete("/interface/by-id/wg0").status_code == 500
    assert snapshot() == before


def test_user_delete_failing_while_releasing_peers_changes_nothing(
    world: Api, snapshot: Callable[[], list[Any]], outbox_fails_on_call: Callable[[int], None]
) -> None:
    before = snapshot()
    outbox_fails_on_call(3)  # the user's delete and the first peer's update are written
    assert world.delete("/user/by-id/alice").status_code == 500
    assert snapshot() == before


def test_key_change_failing_after_the_delete_event_changes_nothing(
    world: Api, snapshot: Callable[[], list[Any]], outbox_fails_on_call: Callable[[int], None]
) -> None:
    before = snapshot()
    outbox_fails_on_call(2)  # the old key's delete is written, the new key's update fails
    private, public = KEYS["gamma"]
    body = peer_body("alpha", UserIdentifier="alice", PublicKey=public, PrivateKey=private)
    assert world.put("/peer/by-id/" + enc(KEYS["alpha"][1]), body).status_code == 500
    assert snapshot() == before


def test_constraint_violation_leaves_no_peer_and_no_event(
    world: Api,
    snapshot: Callable[[], list[Any]],
    database_url: str,
    settings_factory: Callable[..., Settings],
) -> None:
    before = snapshot()
    fields = PeerFields(KEYS["gamma"][1], "wg0", persistent_keepalive=70000)  # past the CHECK
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(psycopg.errors.CheckViolation),
        conn.transaction(),
    ):
        peers.create(conn, settings_factory(), fields, "admin")
    assert snapshot() == before


def test_killed_connection_mid_interface_delete_leaves_everything(
    world: Api,
    snapshot: Callable[[], list[Any]],
    database_url: str,
    settings_factory: Callable[..., Settings],
    db: psycopg.Connection[Any],
) -> None:
    before = snapshot()
    conn = psycopg.connect(database_url)
    interfaces.delete(conn, settings_factory(), "wg0")  # peers and interface deleted, 3 events
    db.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    with pytest.raises(psycopg.OperationalError):
        conn.commit()
    conn.close()
    assert snapshot() == before
