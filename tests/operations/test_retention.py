"""Retention deletes only what is old and done (delivered, or dead and never re-driven)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from services.config import Settings
from services.outbox import record
from tests.operations.outbox_rows import add_attempt, deliveries_of, make_event, set_state
from tests.support.waiting import wait_for
from workers.cleanup import Retention, run_cleanup

DAY = 86400.0
OLD = 40 * DAY  # retention is 30 days (720h) by default


def _age_event(db: psycopg.Connection[Any], event_id: int, seconds: float) -> None:
    """The event and its deliveries, as if written `seconds` ago."""
    for table, key in (("webhook_events", "id"), ("webhook_deliveries", "event_id")):
        db.execute(
            f"UPDATE {table} SET created_at = now() - make_interval(secs => %s) WHERE {key} = %s",
            (seconds, event_id),
        )


def _exists(db: psycopg.Connection[Any], table: str, ident: int) -> bool:
    sql = {
        "event": "SELECT 1 FROM webhook_events WHERE id = %s",
        "delivery": "SELECT 1 FROM webhook_deliveries WHERE id = %s",
    }[table]
    return db.execute(sql, (ident,)).fetchone() is not None


def test_retention_deletes_only_old_finished_rows_while_writes_go_on(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    endpoints = settings.webhook.endpoints

    old_delivered = []
    with psycopg.connect(database_url) as conn, conn.transaction():
        events = [record(conn, endpoints, "create", "user", f"old-{n}", {}) for n in range(240)]
    for event_id in events:
        _age_event(db, event_id, OLD + 60)
        (delivery,) = deliveries_of(db, event_id).values()
        add_attempt(db, delivery, 500, "retry", ago_seconds=OLD + 30)
        add_attempt(db, delivery, 200, "delivered", ago_seconds=OLD)
        set_state(db, delivery, "delivered", ago_seconds=OLD, attempts=2)
        old_delivered.append(delivery)

    def aged(identifier: str, status: str, ago: float, event_age: float) -> tuple[int, int]:
        event_id = make_event(database_url, endpoints, identifier)
        _age_event(db, event_id, event_age)
        (delivery,) = deliveries_of(db, event_id).values()
        set_state(db, delivery, status, ago_seconds=ago)
        return event_id, delivery

    recent_delivered = aged("recent-delivered", "delivered", DAY, DAY)
    old_dead = aged("old-dead", "dead", OLD, OLD)
    recent_dead = aged("recent-dead", "dead", DAY, OLD)  # re-driven long after, died again
    old_pending = aged("old-pending", "pending", 60, OLD)
    add_attempt(db, old_pending[1], 500, "retry", ago_seconds=OLD - 60)
    add_attempt(db, old_pending[1], 500, "retry", ago_seconds=60)

    written: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            with psycopg.connect(database_url) as conn:
                n = 0
                while not done.is_set() and n < 2000:
                    with conn.transaction():
                        written.append(record(conn, endpoints, "update", "user", f"w{n}", {}))
                    n += 1
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    wait_for(lambda: len(written) >= 5, what="the writer to start")
    with psycopg.connect(database_url, autocommit=True) as conn:
        counts = run_cleanup(conn, settings, batch_size=50)
    done.set()
    thread.join(30)

    assert errors == []
    assert counts == {"delivered": 240, "dead": 1, "events": 241, "attempts": 481, "skipped": 0}
    assert not any(_exists(db, "delivery", d) for d in old_delivered)
    assert not any(_exists(db, "event", e) for e in events)
    assert db.execute(
        "SELECT count(*) FROM webhook_attempts WHERE delivery_id = ANY(%s)", (old_delivered,)
    ).fetchone() == (0,)
    assert not _exists(db, "delivery", old_dead[1]) and not _exists(db, "event", old_dead[0])
    for kept_event, kept_delivery in (recent_delivered, recent_dead, old_pending):
        assert _exists(db, "delivery", kept_delivery) and _exists(db, "event", kept_event)
    assert db.execute(
        "SELECT count(*) FROM webhook_attempts WHERE delivery_id = %s", (old_pending[1],)
    ).fetchone() == (1,)
    assert db.execute(
        "SELECT count(*) FROM webhook_events WHERE id = ANY(%s)", (written,)
    ).fetchone() == (len(written),)
    assert db.execute(
        "SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        " WHERE e.id = ANY(%s)",
        (written,),
    ).fetchone() == (len(written),)


def test_an_event_stays_while_one_of_its_deliveries_is_undelivered(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory(
        {"url": "http://127.0.0.1:9/a", "endpoints": [{"name": "b", "url": "http://127.0.0.1:9/b"}]}
    )
    event_id = make_event(database_url, settings.webhook.endpoints, "alice")
    _age_event(db, event_id, OLD)
    both = deliveries_of(db, event_id)
    set_state(db, both["default"], "delivered", ago_seconds=OLD)
    set_state(db, both["b"], "pending", ago_seconds=60)
    with psycopg.connect(database_url, autocommit=True) as conn:
        counts = run_cleanup(conn, settings)
    assert (counts["delivered"], counts["events"]) == (1, 0)
    assert _exists(db, "event", event_id) and _exists(db, "delivery", both["b"])


def test_a_second_cleanup_skips_while_another_replica_runs_one(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    event_id = make_event(database_url, settings.webhook.endpoints, "alice")
    (delivery,) = deliveries_of(db, event_id).values()
    set_state(db, delivery, "delivered", ago_seconds=OLD)
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended('wg-webhooks:retention', 0))")
        with psycopg.connect(database_url, autocommit=True) as conn:
            assert run_cleanup(conn, settings)["skipped"] == 1
        assert _exists(db, "delivery", delivery)
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert run_cleanup(conn, settings)["delivered"] == 1


def test_maybe_run_runs_once_per_interval_in_the_background(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    event_id = make_event(database_url, settings.webhook.endpoints, "alice")
    (delivery,) = deliveries_of(db, event_id).values()
    set_state(db, delivery, "delivered", ago_seconds=OLD)
    retention = Retention(settings, interval=3600)
    try:
        assert retention.maybe_run() is True
        assert retention.maybe_run() is False
        wait_for(lambda: not _exists(db, "delivery", delivery), what="the background cleanup")
        assert retention.maybe_run() is False  # not due for another hour
    finally:
        retention.stop()
