"""Crashed work back in seconds (DESIGN §1.3, §2; issue 15): a started task renews its short
lease while it works (workers.heartbeat), and a relay that sees the queue lost gives back the
leases whose messages were in it (workers.relay.QueueWatch).

These tests run with the default lease settings (`lease_grace` 60 s, `timeout` 10 s unless a
test needs a longer POST): with them, a lease that nobody renews or gives back lasts 75 s or
more, so each bound below fails without the mechanism it checks.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis

from services.config import Settings
from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses
from tests.support.processes import Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for
from workers.leases import STARTED_SECONDS
from workers.relay import RECLAIM_EVERY

DEFAULT_LEASES = {"lease_grace": "60s", "poll_interval": "1s", "timeout": "10s"}
RECOVERY_BOUND = 15.0  # issue 15: every in-flight or queued delivery delivered within this
ENTITIES = ("user", "peer", "interface")


def _leases(db: psycopg.Connection[Any]) -> dict[bool, int]:
    """Leased rows by lease_started (True: a worker holds them; False: queued in Redis)."""
    rows = db.execute(
        "SELECT lease_started, count(*) FROM webhook_deliveries WHERE status = 'leased' GROUP BY 1"
    ).fetchall()
    return {started: count for started, count in rows}


def test_every_worker_killed_and_redis_flushed_everything_is_delivered_within_the_bound(
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    database_url: str,
    redis_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receivers = {entity: receiver_factory(lambda _r, _q: Reply(delay=0.5)) for entity in ENTITIES}
    config, settings = config_factory(
        {
            **DEFAULT_LEASES,
            "endpoints": [
                {"name": entity, "url": r.url, "entities": [entity]}
                for entity, r in receivers.items()
            ],
        }
    )
    procs = processes_factory(config)
    # few threads: messages wait in Redis, so the flush loses queued work as well
    old_workers = [procs.worker("--concurrency", "2") for _ in range(2)]
    procs.relay()
    record_events(
        database_url,
        settings,
        [("create", ENTITIES[i % 3], f"id-{i}", {"Seq": i}) for i in range(200)],
        per_transaction=20,
    )
    wait_for(
        lambda: statuses(db).get("delivered", 0) >= 20 and _leases(db).get(True, 0) > 0,
        timeout=60,
        what="deliveries flowing, some in flight",
    )

    started = time.monotonic()
    for worker in old_workers:
        worker.kill()
    redis.Redis.from_url(redis_url).flushall()
    at_kill = _leases(db)
    # the workers are dead: the rows their tasks had started are exactly the POSTs in flight
    # (or answered but not recorded) at the kill
    in_flight = {
        w
        for (w,) in db.execute(
            "SELECT e.webhook_id FROM webhook_deliveries d JOIN webhook_events e"
            " ON e.id = d.event_id WHERE d.status = 'leased' AND d.lease_started"
        )
    }
    procs.worker()
    wait_for(
        lambda: statuses(db) == {"delivered": 200},
        timeout=120,
        interval=0.1,
        what="all 200 delivered",
    )
    recovered_in = time.monotonic() - started

    assert at_kill.get(True, 0) > 0  # POSTs were in flight when the workers died
    answered = Counter(
        r.headers["webhook-id"] for receiver in receivers.values() for r in receiver.requests
    )
    ids = {w for (w,) in db.execute("SELECT webhook_id FROM webhook_events").fetchall()}
    assert set(answered) == ids  # nothing lost
    repeated = {w for w, n in answered.items() if n > 1}
    assert repeated <= in_flight, sorted(repeated - in_flight)[:5]  # a repeat only for those
    assert recovered_in <= RECOVERY_BOUND, f"recovered in {recovered_in:.1f}s, at kill {at_kill}"


def test_a_task_longer_than_its_lease_keeps_its_rows_and_no_second_post_starts(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    slow = 3 * STARTED_SECONDS
    receiver = receiver_factory(lambda _r, _q: Reply(delay=slow))
    # a second worker and two relays, ready to take over a lapsed lease
    settings, _ = start_stack(
        {**DEFAULT_LEASES, "url": receiver.url, "timeout": "60s"}, workers=2, relays=2
    )
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(lambda: receiver.count() == 1, what="the slow POST")

    def lease() -> tuple[Any, ...]:
        row = db.execute(
            "SELECT status, lease_token, lease_started, lease_expires_at - clock_timestamp()"
            " FROM webhook_deliveries"
        ).fetchone()
        assert row is not None
        return tuple(row)

    first = lease()
    time.sleep(2 * STARTED_SECONDS)
    later = lease()
    wait_for(lambda: statuses(db) == {"delivered": 1}, timeout=slow + 30, what="the delivery")

    assert first[:3] == later[:3] == ("leased", first[1], True)  # the same task holds it
    assert later[3].total_seconds() > 0  # renewed: the lease it started with ran out long ago
    assert receiver.count() == 1
    assert receiver.max_in_flight == 1
    attempts = db.execute("SELECT count(*) FROM webhook_attempts").fetchone()
    assert attempts == (1,)


def test_a_killed_tasks_rows_go_out_again_within_the_lease(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, _q: Reply(black_hole=True) if r.count() == 1 else Reply(status=200)
    )
    # a 60 s timeout: before heartbeats, the killed task's lease ran for 125 s
    settings, procs = start_stack({**DEFAULT_LEASES, "url": receiver.url, "timeout": "60s"})
    (worker,) = procs.started[:1]
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(lambda: receiver.count() == 1, what="the first POST to hang")
    started = time.monotonic()
    worker.kill()
    procs.worker()  # a replacement, as a supervisor would start
    wait_for(lambda: receiver.count() == 2, timeout=60, interval=0.1, what="the second POST")
    back_in = time.monotonic() - started
    wait_for(lambda: statuses(db) == {"delivered": 1}, what="the delivery recorded")

    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert back_in <= STARTED_SECONDS + RECLAIM_EVERY + 5.0, f"sent again after {back_in:.1f}s"


def test_a_lost_queue_gives_back_the_leases_of_its_messages_at_once(
    receiver: Receiver,
    start_stack: Stack,
    database_url: str,
    redis_url: str,
    db: psycopg.Connection[Any],
) -> None:
    # no worker: the messages wait in Redis
    settings, procs = start_stack({**DEFAULT_LEASES, "url": receiver.url}, workers=0)
    record_events(database_url, settings, [("create", "peer", f"k{i}", {}) for i in range(20)])
    queued = 16  # the endpoint's max_in_flight (default)
    wait_for(lambda: _leases(db) == {False: queued}, what="queued leases")

    redis.Redis.from_url(redis_url).flushall()

    # given back, then leased again under new messages: none keeps the lost one's token
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM webhook_deliveries"
                " WHERE last_error LIKE '%lost with the queue'"
            ).fetchone()
            == (queued,)
        ),
        timeout=STARTED_SECONDS,
        what="the queued leases given back",
    )
    procs.worker()
    wait_for(lambda: statuses(db) == {"delivered": 20}, timeout=30, what="all delivered")
    assert Counter(r.json()["identifier"] for r in receiver.requests) == {
        f"k{i}": 1 for i in range(20)
    }
