"""Guarantees 2, 3 and 6: nothing is lost when a worker dies or Redis forgets; no duplicates
without faults; a stale or duplicated Celery message does nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from celery import Celery

from services.embedded import broker_url
from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for


def test_worker_killed_mid_post_is_delivered_after_its_lease_expires(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, _q: Reply(black_hole=True) if r.count() == 1 else Reply(status=200)
    )
    settings, procs = start_stack({"url": receiver.url, "timeout": "3s"})
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(lambda: receiver.count() == 1, what="the first POST to hang")
    worker = next(p for p in procs.started if p.name.startswith("worker"))
    worker.kill()
    procs.worker()  # a replacement, as a supervisor would start
    wait_for(lambda: statuses(db) == {"delivered": 1}, timeout=90, what="redelivery")
    assert receiver.count() == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'leased'"
    ).fetchone() == (0,)


def test_redis_flushed_with_deliveries_in_flight_loses_nothing(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    redis_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(delay=0.05))
    settings, procs = start_stack({"url": receiver.url, "max_in_flight": 4})
    worker = next(p for p in procs.started if p.name.startswith("worker"))
    worker.terminate()  # messages pile up in Redis with no one to take them
    record_events(database_url, settings, [("create", "peer", f"k{i}", {}) for i in range(50)])
    wait_for(lambda: statuses(db).get("leased", 0) > 0, what="deliveries leased and enqueued")
    redis.Redis.from_url(redis_url).flushall()
    procs.worker()
    wait_for(lambda: statuses(db) == {"delivered": 50}, timeout=120, what="all delivered")
    counts = Counter(r.json()["identifier"] for r in receiver.requests)
    assert set(counts) == {f"k{i}" for i in range(50)}


def test_duplicated_celery_message_does_not_post_twice(
    receiver: Receiver,
    start_stack: Stack,
    database_url: str,
    redis_url: str,
    db: psycopg.Connection[Any],
) -> None:
    settings, _ = start_stack({"url": receiver.url})
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(lambda: statuses(db) == {"delivered": 1}, timeout=90, what="delivered")
    delivery_id = db.execute("SELECT id FROM webhook_deliveries").fetchone()
    assert delivery_id is not None
    # Replay what the relay sent, twice: once with a token that never leased, once with a
    # stale one. Neither may POST again.
    client = Celery(broker=broker_url(redis_url))
    for token in (str(uuid.uuid4()), str(uuid.uuid4())):
        client.send_task("webhooks.deliver", args=[[delivery_id[0]], token], queue="webhooks")
    # A live lease for the same row, sent twice at once (32 worker threads take both at the
    # same moment): the first runs, the duplicate is a no-op.
    token = str(uuid.uuid4())
    db.execute(
        "UPDATE webhook_deliveries SET status = 'leased', lease_token = %s,"
        " lease_expires_at = now() + interval '1 minute'",
        (token,),
    )
    for _ in range(2):
        client.send_task("webhooks.deliver", args=[[delivery_id[0]], token], queue="webhooks")
    wait_for(
        lambda: statuses(db) == {"delivered": 1}, timeout=90, what="the re-leased row delivered"
    )
    wait_for(
        lambda: db.execute("SELECT count(*) FROM webhook_attempts").fetchone() == (2,),
        timeout=90,
        what="the attempt",
    )
    client.close()
    assert receiver.count() == 2  # the original + the one live lease; never the duplicate


def test_two_workers_and_two_relays_deliver_each_event_exactly_once(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory()
    settings, _ = start_stack({"url": receiver.url, "max_in_flight": 32}, workers=2, relays=2)
    record_events(
        database_url,
        settings,
        [("update", "peer", f"k{i % 100}", {"Seq": i}) for i in range(2000)],
        per_transaction=100,
    )
    wait_for(lambda: statuses(db) == {"delivered": 2000}, timeout=180, what="all delivered")
    seen = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(seen) == 2000
    assert max(seen.values()) == 1
    by_key: dict[str, list[int]] = {}
    for request in receiver.requests:
        body = request.json()
        by_key.setdefault(body["identifier"], []).append(body["payload"]["Seq"])
    assert all(seqs == sorted(seqs) for seqs in by_key.values())
