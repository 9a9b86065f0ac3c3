"""The store layer (services/db/store.py) turns a taken unique key into the domain's Conflict
where the domain asks for it, and nowhere else."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from services.db import tables
from services.domain import interfaces, peers
from services.domain.errors import Conflict
from services.domain.keys import generate_keypair
from tests.support.waiting import wait_for_lock_waits


def _interface_and_peer(conn: psycopg.Connection[Any], settings: Settings) -> str:
    private, public = generate_keypair()
    interfaces.create(
        conn, settings, interfaces.InterfaceFields("wg0", "server", private, public), "admin"
    )
    _, peer_key = generate_keypair()
    peers.create(conn, settings, peers.PeerFields(peer_key, "wg0"), "admin")
    return peer_key


def test_a_rekey_onto_a_key_created_meanwhile_is_a_conflict_that_writes_nothing(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, conn.transaction():
        old_key = _interface_and_peer(conn, settings)
    _, new_key = generate_keypair()
    events_before = db.execute("SELECT count(*) FROM webhook_events").fetchone()
    outcome: list[BaseException | dict[str, Any]] = []

    def rekey() -> None:
        with psycopg.connect(database_url) as conn:
            try:
                with conn.transaction():
                    existing = peers.get(conn, old_key)
                    assert existing is not None
                    fields = peers.fields_of({**existing, "identifier": new_key})
                    outcome.append(peers.update(conn, settings, old_key, fields, "admin"))
            except Conflict as error:
                outcome.append(error)

    with psycopg.connect(database_url) as other:
        # Another transaction creates the new key and has not committed: the re-key's check does
        # not see it, and its UPDATE waits on the key until the other commits.
        peers.create(other, settings, peers.PeerFields(new_key, "wg0"), "admin")
        thread = threading.Thread(target=rekey)
        thread.start()
        wait_for_lock_waits(db, what="the re-key waiting on the other transaction's new key")
        other.commit()
    thread.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], Conflict)
    assert outcome[0].message == f"peer {new_key} already exists"
    assert db.execute("SELECT identifier FROM peers ORDER BY identifier").fetchall() == sorted(
        [(old_key,), (new_key,)]
    )
    # The other transaction's `create` is the only event added.
    after = db.execute("SELECT count(*) FROM webhook_events").fetchone()
    assert events_before is not None and after == (events_before[0] + 1,)


def test_a_taken_key_outside_the_domain_stays_the_drivers_error(
    database_url: str, config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    """The bridge's reconcile catches the driver's integrity errors itself: no translation."""
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, conn.transaction():
        first = _interface_and_peer(conn, settings)
        _, second = generate_keypair()
        peers.create(conn, settings, peers.PeerFields(second, "wg0"), "admin")
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
        conn.transaction(),
    ):
        tables.update(conn, "peers", first, {"identifier": second})
