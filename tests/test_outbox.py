"""Guarantee 1: an event exists if and only if the change that caused it committed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Endpoint, Settings
from services.domain import users
from services.outbox import record


def test_rolled_back_user_create_leaves_no_event(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, pytest.raises(RuntimeError), conn.transaction():
        users.create(conn, settings, users.UserFields("carol"), "admin")
        raise RuntimeError("the caller fails after the write")
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM webhook_events").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (0,)


def test_committed_user_create_has_exactly_one_event_and_delivery(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, conn.transaction():
        users.create(conn, settings, users.UserFields("carol"), "admin")
    assert db.execute("SELECT event, entity, identifier FROM webhook_events").fetchall() == [
        ("create", "user", "carol")
    ]
    assert db.execute("SELECT endpoint, status FROM webhook_deliveries").fetchall() == [
        ("default", "pending")
    ]


def test_killed_connection_mid_transaction_leaves_nothing(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    db: psycopg.Connection[Any],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    conn = psycopg.connect(database_url)
    users.create(conn, settings, users.UserFields("dave"), "admin")
    pid = conn.info.backend_pid
    db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        conn.commit()
    conn.close()
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM webhook_events").fetchone() == (0,)


def test_fan_out_writes_one_delivery_per_matching_endpoint(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    endpoints = (
        Endpoint("all", "http://127.0.0.1:9/a"),
        Endpoint("creates", "http://127.0.0.1:9/b", events=frozenset({"create"})),
        Endpoint("peers", "http://127.0.0.1:9/c", entities=frozenset({"peer"})),
    )
    with psycopg.connect(database_url) as conn, conn.transaction():
        record(conn, endpoints, "create", "user", "u1", {})
        record(conn, endpoints, "delete", "user", "u1", {})
    rows = db.execute(
        "SELECT e.event, d.endpoint FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.id = d.event_id ORDER BY d.id"
    ).fetchall()
    assert rows == [("create", "all"), ("create", "creates"), ("delete", "all")]


def test_record_refuses_to_run_outside_a_transaction(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, pytest.raises(RuntimeError):
        record(conn, (), "create", "user", "u1", {})
