"""The worker's recorder (group commit), in this process on the test's Postgres: what tasks
hand over meanwhile is written in one transaction, only under each task's own lease, and the
relays are woken only for the room a task does not take itself."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.support.events import record_events
from tests.support.waiting import wait_for
from workers import runtime
from workers.delivery import Job, Sent
from workers.outcome import Outcome, Result
from workers.recorder import Recorder

ENDPOINTS = [
    {"name": "a", "url": "http://127.0.0.1:9/a"},
    {"name": "b", "url": "http://127.0.0.1:9/b"},
]


@pytest.fixture
def settings(
    config_factory: Callable[..., tuple[Path, Settings]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    path, settings = config_factory({"endpoints": ENDPOINTS})
    monkeypatch.setenv("WG_WEBHOOKS_CONFIG", str(path))  # what runtime.current() reads
    runtime.close()
    yield settings
    runtime.close()


def _lease(db: psycopg.Connection[Any], endpoint: str, token: str) -> list[int]:
    """Lease every pending delivery of `endpoint` under `token` (as a started task holds)."""
    rows = db.execute(
        "UPDATE webhook_deliveries SET status = 'leased', lease_token = %s, lease_started = true,"
        " lease_expires_at = now() + interval '1 minute' WHERE endpoint = %s AND status = 'pending'"
        " RETURNING id",
        (token, endpoint),
    ).fetchall()
    return sorted(r[0] for r in rows)


def _sent(delivery_id: int, outcome: str = "delivered") -> Sent:
    job = Job(delivery_id, f"msg_{delivery_id}", 0, "{}", datetime.now(UTC))
    code = 200 if outcome == "delivered" else 503
    return Sent(job, Result(code, None, 1.0, "ok"), Outcome(outcome, 60.0), datetime.now(UTC))


def _events(database_url: str, settings: Settings, count: int) -> None:
    items = [("update", "peer", f"peer-{i}", {"Seq": i}) for i in range(count)]
    record_events(database_url, settings, items)


def test_what_is_handed_over_meanwhile_is_written_in_one_transaction(
    settings: Settings, database_url: str, db: psycopg.Connection[Any]
) -> None:
    _events(database_url, settings, 2)
    token_a, token_b = str(uuid.uuid4()), str(uuid.uuid4())
    first_a, second_a = _lease(db, "a", token_a)
    first_b, second_b = _lease(db, "b", token_b)
    recorder = Recorder()
    # the first batch waits for a row another transaction holds; meanwhile two tasks hand over
    with psycopg.connect(database_url) as blocker:
        blocker.execute("SELECT 1 FROM webhook_deliveries WHERE id = %s FOR UPDATE", (first_a,))
        first = recorder.submit(token_a, "a", [_sent(first_a)], wake=False)
        wait_for(
            lambda: (
                db.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (1,)
            ),
            what="the recorder's first transaction waiting for the row",
        )
        later_a = recorder.submit(token_a, "a", [_sent(second_a)], wake=False)
        later_b = recorder.submit(token_b, "b", [_sent(first_b), _sent(second_b, "retry")], False)
        assert not first.done()
    assert first.result(timeout=30) and later_a.result(timeout=30) and later_b.result(timeout=30)
    rows = dict(
        db.execute(
            "SELECT id, (status, xmin::text) FROM webhook_deliveries WHERE id = ANY(%s)",
            ([first_a, second_a, first_b, second_b],),
        ).fetchall()
    )
    assert rows[first_a][0] == rows[second_a][0] == rows[first_b][0] == "delivered"
    assert rows[second_b][0] == "pending"  # a retry, scheduled
    # two tasks' results, one commit; the blocked batch's its own
    assert rows[second_a][1] == rows[first_b][1] == rows[second_b][1] != rows[first_a][1]
    attempts = db.execute("SELECT count(*) FROM webhook_attempts").fetchone()
    assert attempts == (4,)
    health = db.execute(
        "SELECT name, failing_since IS NOT NULL FROM webhook_endpoints ORDER BY name"
    ).fetchall()
    assert health == [("a", False), ("b", False)]  # a success in the batch ends any streak


def test_a_row_another_run_holds_is_left_alone(
    settings: Settings,
    database_url: str,
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _events(database_url, settings, 2)
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    kept, taken = _lease(db, "a", mine)
    db.execute("UPDATE webhook_deliveries SET lease_token = %s WHERE id = %s", (theirs, taken))
    with caplog.at_level(logging.WARNING, logger="workers.tasks"):
        done = Recorder().submit(mine, "a", [_sent(kept), _sent(taken)], wake=False)
        assert done.result(timeout=30) is True
    rows = dict(db.execute("SELECT id, status FROM webhook_deliveries WHERE endpoint = 'a'"))
    assert rows == {kept: "delivered", taken: "leased"}
    assert f"the lease of run {mine} was lost before its results were recorded (1 of 2 kept)" in (
        caplog.text
    )


@pytest.mark.parametrize("wake", [False, True])
def test_the_relays_are_woken_only_for_room_the_task_does_not_take(
    settings: Settings, database_url: str, db: psycopg.Connection[Any], wake: bool
) -> None:
    _events(database_url, settings, 2)
    token = str(uuid.uuid4())
    leased = _lease(db, "a", token)
    _events(database_url, settings, 1)  # due and waiting for the room the results free
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN webhook_outbox")
        done = Recorder().submit(token, "a", [_sent(i) for i in leased], wake=wake)
        assert done.result(timeout=30) is True
        heard = list(listener.notifies(timeout=1.0, stop_after=1))
    assert len(heard) == (1 if wake else 0)
