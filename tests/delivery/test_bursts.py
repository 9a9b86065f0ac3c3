"""Bursts (workers.drain, issue 15): a running task keeps leasing its endpoint's due deliveries
itself, so a backlog costs a few Celery messages, not one per batch; an idle task waits a
moment for its endpoint's next event and sends it without a claim round, a publish and a task
start. The claim rules stay the relay's: the in-flight cap, one open delivery per ordering key.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses
from tests.support.processes import Proc
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for, wait_for_lock_waits
from workers.leases import LINGER_SECONDS

FINISHED = re.compile(r"Task webhooks\.deliver\[[0-9a-f-]+\] succeeded in [0-9.]+s: (\d+)")


def _finished_tasks(worker: Proc) -> list[int]:
    """What each finished `webhooks.deliver` task returned (the attempts it recorded)."""
    return [int(n) for n in FINISHED.findall(worker.log())]


def test_a_backlog_goes_out_in_a_few_tasks_within_the_cap_and_in_key_order(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(delay=0.02))
    # max_in_flight 4: the relay leases 2 per message, so one message per batch would be 150
    settings, procs = start_stack({"url": receiver.url, "max_in_flight": 4})
    (worker,) = procs.started[:1]
    items = [("update", "peer", f"key-{i % 60}", {"Seq": i}) for i in range(300)]
    record_events(database_url, settings, items, per_transaction=300)
    wait_for(lambda: statuses(db) == {"delivered": 300}, timeout=120, what="all delivered")
    wait_for(lambda: sum(_finished_tasks(worker)) == 300, what="every task to finish")

    tasks = _finished_tasks(worker)
    assert len(tasks) <= 20, f"{len(tasks)} task messages for 300 deliveries: {tasks}"
    assert receiver.count() == 300
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 300
    assert 1 < receiver.max_in_flight <= 4
    by_key: dict[str, list[int]] = {}
    for request in receiver.requests:
        body = request.json()
        by_key.setdefault(body["identifier"], []).append(body["payload"]["Seq"])
    assert all(seqs == sorted(seqs) for seqs in by_key.values())  # commit order per key


def test_an_idle_task_sends_its_endpoints_next_event_without_a_new_task(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(status=200))
    settings, procs = start_stack({"url": receiver.url})
    (worker,) = procs.started[:1]
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(lambda: receiver.count() == 1, what="the first event")
    time.sleep(LINGER_SECONDS / 4)  # the task waits for the next event meanwhile
    record_events(database_url, settings, [("update", "user", "alice", {"Seq": 2})])
    wait_for(lambda: statuses(db) == {"delivered": 2}, what="the second event")
    wait_for(lambda: _finished_tasks(worker), timeout=LINGER_SECONDS + 30, what="the task's end")
    time.sleep(1.0)  # a second task, had there been one, would have finished too

    assert _finished_tasks(worker) == [2]  # one task sent both
    assert [r.json()["event"] for r in receiver.requests] == ["create", "update"]


def test_events_still_flow_after_the_waiting_task_is_killed(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    """The relay leaves fresh events to a waiting task only for a moment (workers.handoff):
    once its worker is gone, the next events go out through the relay and a new task."""
    receiver = receiver_factory(lambda _r, _q: Reply(status=200))
    settings, procs = start_stack({"url": receiver.url})
    (worker,) = procs.started[:1]
    record_events(database_url, settings, [("create", "user", "alice", {})])
    # recorded, not just answered: a kill between the 2xx and the record would send it again
    wait_for(lambda: statuses(db) == {"delivered": 1}, what="the first event")
    worker.kill()  # while its task waits for the next event (and holds the handoff key)
    replacement = procs.worker()
    record_events(
        database_url, settings, [("update", "user", f"u{i}", {"Seq": i}) for i in range(5)]
    )
    wait_for(lambda: statuses(db) == {"delivered": 6}, timeout=60, what="the later events")
    wait_for(lambda: _finished_tasks(replacement), timeout=LINGER_SECONDS + 30, what="its task")
    assert receiver.count() == 6
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 6


def test_a_burst_claims_through_connections_that_broke_while_idle(
    receiver: Receiver,
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    # as after a Postgres restart: every connection the worker had is gone while it idles
    settings, procs = start_stack({"url": receiver.url, "max_in_flight": 2})
    (worker,) = procs.started[:1]
    record_events(database_url, settings, [("update", "peer", "warm-up", {})])
    wait_for(lambda: statuses(db) == {"delivered": 1}, what="the warm-up delivered")
    time.sleep(LINGER_SECONDS + 1.5)  # its task ended; its connections sit idle
    killed = db.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'wg-webhooks-worker'"
    ).fetchone()
    assert killed is not None and killed[0] >= 2  # the task pool's and the claim pool's
    items = [("update", "peer", f"peer-{i}", {"Seq": i}) for i in range(20)]
    record_events(database_url, settings, items, per_transaction=20)
    wait_for(lambda: statuses(db) == {"delivered": 21}, timeout=60, what="all delivered")
    # a broken connection handed to a claim would have ended the burst with this warning
    assert "database unavailable leasing more" not in worker.log()
    assert sorted(r.json()["payload"]["Seq"] for r in receiver.requests[1:]) == list(range(20))


def test_a_task_the_cap_holds_back_claims_again_when_room_comes_back(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    """A task whose POSTs are all answered while other tasks' rows fill the cap (answered ones
    among them until their group commit) does not end: it claims again a moment later and
    sends what is due. Here the other task holds four rows and never runs; the test holds the
    endpoint's claim lock to see the task's claims: the one after its answer, which finds the
    cap full, and the next, which finds room because the four rows were freed meanwhile. The
    relay is gone, so only a task that stayed can send the rest."""
    set_up = threading.Event()

    def first_waits_for_the_set_up(r: Receiver, _q: Any) -> Reply:
        if r.count() == 1:
            set_up.wait(30)
        return Reply()

    receiver = receiver_factory(first_waits_for_the_set_up)
    settings, procs = start_stack({"url": receiver.url, "max_in_flight": 4, "batch_size": 2})
    worker, relay = procs.started
    record_events(database_url, settings, [("update", "peer", "first", {"Seq": 0})])
    wait_for(lambda: receiver.count() == 1, what="the first POST (answered after the set-up)")
    relay.kill()
    record_events(database_url, settings, [("update", "peer", f"other-{i}", {}) for i in range(4)])
    other_task = str(uuid.uuid4())
    db.execute(
        "UPDATE webhook_deliveries SET status = 'leased', lease_token = %s,"
        " lease_started = true, lease_expires_at = now() + interval '60 seconds'"
        " WHERE status = 'pending'",
        (other_task,),
    )
    items = [("update", "peer", f"peer-{i}", {"Seq": i}) for i in range(1, 6)]
    record_events(database_url, settings, items, per_transaction=5)
    claim_lock = "SELECT pg_advisory_{}(hashtextextended('wg-webhooks claim:' || endpoint, 0))"
    claim_lock += " FROM webhook_deliveries LIMIT 1"
    with psycopg.connect(database_url, autocommit=True) as locker:
        locker.execute(claim_lock.format("lock"))
        set_up.set()
        wait_for_lock_waits(db, what="the task's claim after its answer")
        locker.execute(claim_lock.format("unlock"))
        locker.execute(claim_lock.format("lock"))  # after that claim: it found the cap full
        wait_for_lock_waits(db, what="the task claiming again")  # it did not end
        db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', lease_token = NULL,"
            " lease_started = false, lease_expires_at = NULL WHERE lease_token = %s",
            (other_task,),
        )
        locker.execute(claim_lock.format("unlock"))
    wait_for(lambda: statuses(db) == {"delivered": 10}, timeout=30, what="all delivered")
    wait_for(lambda: _finished_tasks(worker), timeout=LINGER_SECONDS + 30, what="the task's end")
    assert _finished_tasks(worker) == [10]  # one task sent everything
    assert receiver.count() == 10
    assert receiver.max_in_flight <= 2  # the task's window
