"""Re-drive rules in the database: redeliver any status, recover a window, list and show."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from services import redrive
from services.config import Endpoint
from services.domain.errors import Invalid, NotFound
from tests.operations.outbox_rows import (
    add_attempt,
    deliveries_of,
    make_event,
    set_state,
    status_of,
)

HOOKS = (Endpoint("default", "http://127.0.0.1:9/a"), Endpoint("billing", "http://127.0.0.1:9/b"))
DAY = 86400.0


def _one(database_url: str, db: psycopg.Connection[Any], identifier: str) -> int:
    return deliveries_of(db, make_event(database_url, HOOKS[:1], identifier))["default"]


def test_redeliver_dead_makes_it_pending_due_now_with_the_schedule_restarted(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    delivery = _one(database_url, db, "alice")
    set_state(db, delivery, "dead", ago_seconds=3600, attempts=8)
    with psycopg.connect(database_url) as conn:
        assert redrive.redeliver(conn, [delivery]) == {delivery: "dead"}
    row = db.execute(
        "SELECT status, attempts, next_attempt_at <= clock_timestamp(), lease_token"
        " FROM webhook_deliveries WHERE id = %s",
        (delivery,),
    ).fetchone()
    assert row == ("pending", 0, True, None)


def test_redeliver_a_delivered_one_keeps_its_event_so_the_webhook_id_stays(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    event_id = make_event(database_url, HOOKS[:1], "alice")
    delivery = deliveries_of(db, event_id)["default"]
    set_state(db, delivery, "delivered", ago_seconds=60, attempts=1)
    with psycopg.connect(database_url) as conn:
        redrive.redeliver(conn, [delivery])
    assert db.execute(
        "SELECT event_id, status, delivered_at FROM webhook_deliveries WHERE id = %s", (delivery,)
    ).fetchone() == (event_id, "pending", None)
    assert db.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)


def test_redeliver_a_leased_one_drops_its_lease(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    delivery = _one(database_url, db, "alice")
    set_state(db, delivery, "leased")
    with psycopg.connect(database_url) as conn:
        redrive.redeliver(conn, [delivery])
    assert db.execute(
        "SELECT status, lease_token, lease_expires_at FROM webhook_deliveries WHERE id = %s",
        (delivery,),
    ).fetchone() == ("pending", None, None)


def test_redeliver_with_an_unknown_id_names_it_and_changes_nothing(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    delivery = _one(database_url, db, "alice")
    set_state(db, delivery, "dead")
    with psycopg.connect(database_url) as conn, pytest.raises(NotFound) as raised:
        redrive.redeliver(conn, [delivery, 424242])
    assert raised.value.message == "no delivery with id 424242"
    assert status_of(db, delivery) == "dead"


def test_redeliver_wakes_the_relays(database_url: str, db: psycopg.Connection[Any]) -> None:
    delivery = _one(database_url, db, "alice")
    set_state(db, delivery, "dead")
    with psycopg.connect(database_url, autocommit=True) as listen:
        listen.execute("LISTEN webhook_outbox")
        with psycopg.connect(database_url) as conn:
            redrive.redeliver(conn, [delivery])
        channels = [n.channel for n in listen.notifies(timeout=5, stop_after=1)]
    assert channels == ["webhook_outbox"]


def test_recover_redrives_exactly_the_dead_ones_in_the_window(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    states = {
        "dead-recent": ("dead", 3600.0),
        "dead-old": ("dead", 2 * DAY),
        "delivered-recent": ("delivered", 60.0),
        "pending-recent": ("pending", 60.0),
        "leased-recent": ("leased", 0.0),
    }
    ids = {}
    for name, (status, ago) in states.items():
        ids[name] = _one(database_url, db, name)
        set_state(db, ids[name], status, ago_seconds=ago)
    with psycopg.connect(database_url) as conn:
        assert redrive.recover(conn, DAY) == 1
    assert {name: status_of(db, i) for name, i in ids.items()} == {
        "dead-recent": "pending",
        "dead-old": "dead",
        "delivered-recent": "delivered",
        "pending-recent": "pending",
        "leased-recent": "leased",
    }


def test_recover_for_one_endpoint_leaves_the_others(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    event_id = make_event(database_url, HOOKS, "alice")
    both = deliveries_of(db, event_id)
    for delivery in both.values():
        set_state(db, delivery, "dead", ago_seconds=60)
    with psycopg.connect(database_url) as conn:
        assert redrive.recover(conn, DAY, endpoint="billing") == 1
    assert status_of(db, both["billing"]) == "pending"
    assert status_of(db, both["default"]) == "dead"


def test_recover_works_in_batches_and_reports_progress(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    for n in range(25):
        set_state(db, _one(database_url, db, f"user-{n}"), "dead", ago_seconds=60)
    seen: list[tuple[int, int]] = []
    with psycopg.connect(database_url) as conn:
        count = redrive.recover(
            conn, DAY, progress=lambda done, total: seen.append((done, total)), batch_size=10
        )
    assert count == 25
    assert seen == [(0, 25), (10, 25), (20, 25), (25, 25)]
    assert db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'"
    ).fetchone() == (0,)


def test_recover_of_a_delivered_window_can_resend_what_a_receiver_lost(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    lost = _one(database_url, db, "lost")
    kept = _one(database_url, db, "kept")
    set_state(db, lost, "delivered", ago_seconds=600)
    set_state(db, kept, "delivered", ago_seconds=3 * DAY)
    with psycopg.connect(database_url) as conn:
        assert redrive.recover(conn, 3600, status="delivered") == 1
    assert (status_of(db, lost), status_of(db, kept)) == ("pending", "delivered")


def test_recover_refuses_an_unknown_status(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(Invalid, match="status"):
        redrive.recover(conn, DAY, status="gone")


def test_list_filters_and_orders_newest_first(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    first = deliveries_of(db, make_event(database_url, HOOKS, "alice"))
    second = deliveries_of(db, make_event(database_url, HOOKS, "bob", event="update"))
    set_state(db, first["default"], "dead", ago_seconds=2 * DAY)
    with psycopg.connect(database_url) as conn:
        everything = redrive.list_deliveries(conn, redrive.Filters())
        dead = redrive.list_deliveries(conn, redrive.Filters(status="dead"))
        bob = redrive.list_deliveries(conn, redrive.Filters(identifier="bob", endpoint="billing"))
        recent = redrive.list_deliveries(conn, redrive.Filters(since=DAY))
        two = redrive.list_deliveries(conn, redrive.Filters(limit=2))
    assert [d.id for d in everything] == sorted([*first.values(), *second.values()], reverse=True)
    assert [d.id for d in dead] == [first["default"]]
    assert [(d.id, d.event, d.entity, d.identifier) for d in bob] == [
        (second["billing"], "update", "user", "bob")
    ]
    assert first["default"] not in [d.id for d in recent]
    assert len(recent) == 3
    assert len(two) == 2


def test_delivery_json_has_the_contract_keys(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    delivery = _one(database_url, db, "alice")
    with psycopg.connect(database_url) as conn:
        (listed,) = redrive.list_deliveries(conn, redrive.Filters())
    body = listed.to_json()
    assert {
        "Id", "EventId", "WebhookId", "Endpoint", "Event", "Entity", "Identifier", "Status",
        "Attempts", "NextAttemptAt", "LastStatusCode", "LastError", "CreatedAt", "DeliveredAt",
    } <= set(body)  # fmt: skip
    assert body["Id"] == delivery
    assert body["Status"] == "pending"
    assert body["NextAttemptAt"] is not None
    assert body["DeliveredAt"] is None


def test_show_has_every_attempt_with_its_response_excerpt(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    delivery = _one(database_url, db, "alice")
    add_attempt(db, delivery, 503, "retry", body="busy, come back later", ago_seconds=10)
    add_attempt(db, delivery, None, "retry", error="connection refused", ago_seconds=5)
    add_attempt(db, delivery, 200, "delivered", body="ok")
    set_state(db, delivery, "delivered", attempts=3)
    with psycopg.connect(database_url) as conn:
        detail = redrive.get_delivery(conn, delivery)
    body = detail.to_json()
    assert body["AttemptCount"] == 3
    assert [
        (a["StatusCode"], a["Outcome"], a["ResponseBody"], a["Error"]) for a in body["Attempts"]
    ] == [
        (503, "retry", "busy, come back later", None),
        (None, "retry", "", "connection refused"),
        (200, "delivered", "ok", None),
    ]


def test_show_of_an_unknown_id_is_not_found(database_url: str) -> None:
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(NotFound, match="no delivery with id 7"),
    ):
        redrive.get_delivery(conn, 7)
