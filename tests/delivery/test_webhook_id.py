"""The webhook-id header (DESIGN §4.4): `evt_` + a UUIDv7 kept with the event, unique across
installs and database re-creations, the same on every attempt and for every endpoint; an event
recorded before migration 005 keeps the number it was already sent with."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from services.config import Settings
from services.db.migrate import migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema
from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses, webhook_ids
from tests.support.old_layout import blank_database, migrate_the_old_way
from tests.support.processes import Processes
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for

UUID7 = re.compile(r"^evt_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
USER = ("create", "user", "alice", {"Identifier": "alice"})


def _milliseconds_of(webhook_id: str) -> int:
    """The Unix milliseconds a UUIDv7 starts with."""
    return uuid.UUID(webhook_id.removeprefix("evt_")).int >> 80


def test_two_fresh_databases_give_their_first_events_different_ids(
    pg_admin_url: str, config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    first_ids = []
    for _ in range(2):
        with blank_database(pg_admin_url) as url:
            bound = in_schema(url, DEFAULT_SCHEMA)
            migrate(bound)
            before = int(time.time() * 1000)
            (event_id,) = record_events(bound, settings, [USER])
            after = int(time.time() * 1000)
            assert event_id == 1  # the sequence restarts: the id must not
            (webhook_id,) = webhook_ids(bound, [event_id])
        assert UUID7.match(webhook_id), webhook_id
        assert before - 5 <= _milliseconds_of(webhook_id) <= after + 5
        first_ids.append(webhook_id)
    assert first_ids[0] != first_ids[1]


def _fails_first_try(receiver: Receiver, _request: Received) -> Reply:
    return Reply(500) if receiver.count() == 1 else Reply(200)


def test_an_events_id_is_the_same_on_a_retry_and_for_every_endpoint(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    flaky, steady = receiver_factory(_fails_first_try), receiver_factory()
    settings, _ = start_stack(
        {"endpoints": [{"name": "flaky", "url": flaky.url}, {"name": "steady", "url": steady.url}]}
    )
    (event_id,) = record_events(database_url, settings, [USER])
    (stored,) = webhook_ids(database_url, [event_id])

    wait_for(lambda: statuses(db) == {"delivered": 2}, what="both deliveries")

    assert flaky.count() == 2 and steady.count() == 1
    sent = [r.headers["webhook-id"] for r in (*flaky.requests, *steady.requests)]
    assert sent == [stored, stored, stored]
    assert UUID7.match(stored)


OLD_EVENT = """
INSERT INTO webhook_events (event, entity, identifier, body)
VALUES ('create', 'user', 'alice', '{"event":"create","entity":"user","identifier":"alice"}');
INSERT INTO webhook_deliveries (event_id, endpoint, ordering_key, status, attempts)
VALUES (1, 'default', 'user:alice', 'pending', 1);
"""


def test_an_event_from_before_the_migration_keeps_its_number_as_its_id(
    pg_admin_url: str,
    redis_url: str,
    receiver: Receiver,
    config_factory: Callable[..., tuple[Path, Settings]],
    tmp_path: Path,
) -> None:
    path, settings = config_factory({"url": receiver.url})
    with blank_database(pg_admin_url) as url:
        migrate_the_old_way(url, upto=3)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(OLD_EVENT)  # sent once as webhook-id 1, then the receiver failed
        bound = in_schema(url, DEFAULT_SCHEMA)
        migrate(bound)
        (new_event,) = record_events(bound, settings, [("update", "user", "alice", {})])
        procs = Processes(path, bound, redis_url, tmp_path)
        try:
            procs.worker()
            procs.relay()
            wait_for(lambda: receiver.count() == 2, what="the old and the new event")
        finally:
            procs.stop_all()
        with psycopg.connect(bound) as conn:
            assert conn.execute("SELECT status FROM webhook_deliveries ORDER BY id").fetchall() == [
                ("delivered",),
                ("delivered",),
            ]
        (new_id,) = webhook_ids(bound, [new_event])
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["1", new_id]
    assert UUID7.match(new_id)
