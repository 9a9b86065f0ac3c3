"""Guarantees 4 and 5: per-identifier order; a bad endpoint never starves the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for


def test_events_for_one_identifier_arrive_in_commit_order_without_holding_up_others(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    alice_failures = [0]

    def behaviour(_r: Receiver, request: Received) -> Reply:
        if request.json()["identifier"] == "alice" and alice_failures[0] < 3:
            alice_failures[0] += 1
            return Reply(status=500)
        return Reply(status=200)

    receiver = receiver_factory(behaviour)
    settings, _ = start_stack({"url": receiver.url, "retry_schedule": ["500ms"] * 5})
    record_events(
        database_url,
        settings,
        [("update", "user", "alice", {"Seq": i}) for i in range(20)]
        + [("update", "user", f"other-{i}", {"Seq": i}) for i in range(20)],
    )
    wait_for(lambda: statuses(db) == {"delivered": 40}, timeout=60, what="all delivered")
    received = [(r.json()["identifier"], r.json()["payload"]["Seq"]) for r in receiver.requests]
    alice = [seq for ident, seq in received if ident == "alice"]
    assert alice == [0, 0, 0, 0, *range(1, 20)]  # three failures of the first, then in order
    first_alice_success = 3  # the index among alice's requests
    alice_indexes = [i for i, (ident, _) in enumerate(received) if ident == "alice"]
    others_done = max(i for i, (ident, _) in enumerate(received) if ident != "alice")
    assert others_done < alice_indexes[first_alice_success]  # others did not wait for alice


def test_black_holed_endpoint_does_not_starve_a_healthy_one(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    hole = receiver_factory(lambda _r, _q: Reply(black_hole=True))
    healthy = receiver_factory()
    settings, _ = start_stack(
        {
            "timeout": "3s",
            "endpoints": [{"name": "hole", "url": hole.url}, {"name": "ok", "url": healthy.url}],
        }
    )
    record_events(
        database_url, settings, [("create", "peer", f"key-{i}", {"N": i}) for i in range(100)]
    )
    wait_for(lambda: healthy.count() >= 100, timeout=60, what="the healthy endpoint's deliveries")
    delivered = db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint = 'ok' AND status = 'delivered'"
    ).fetchone()
    assert delivered == (100,) or wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE endpoint='ok' AND status='delivered'"
            ).fetchone()
            == (100,)
        )
    )
    assert hole.count() >= 1  # the hole was tried, and is still being tried


def test_requests_to_one_endpoint_go_out_concurrently_up_to_max_in_flight(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    slow = receiver_factory(lambda _r, _q: Reply(delay=0.2))
    settings, _ = start_stack({"url": slow.url, "max_in_flight": 4})
    record_events(
        database_url,
        settings,
        [("create", "peer", f"key-{i}", {"N": i}) for i in range(200)],
        per_transaction=50,
    )
    wait_for(lambda: statuses(db) == {"delivered": 200}, timeout=120, what="all delivered")
    assert slow.count() == 200
    assert 1 < slow.max_in_flight <= 4
