"""Guarantee 6: many workers and relays against one Postgres and Redis; rolling restarts."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.support.events import record_events, statuses, webhook_ids
from tests.support.processes import FastReceiver, Processes, start_fast_receiver
from tests.support.waiting import wait_for


@pytest.fixture
def fast_receivers(tmp_path: Path) -> Iterator[Callable[[str], FastReceiver]]:
    made: list[FastReceiver] = []

    def make(name: str) -> FastReceiver:
        receiver = start_fast_receiver(tmp_path / f"{name}.received")
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


def _assert_once_each_in_order(
    receiver: FastReceiver, database_url: str, event_ids: list[int]
) -> None:
    received = receiver.received()
    counts = Counter(webhook_id for webhook_id, _ in received)
    duplicates = {k: v for k, v in counts.items() if v > 1}
    assert duplicates == {}
    assert set(counts) == set(webhook_ids(database_url, event_ids))
    by_key: dict[str, list[int]] = defaultdict(list)
    for _, body in received:
        payload: Any = body["payload"]
        by_key[str(body["identifier"])].append(int(payload["Seq"]))
    assert all(seqs == sorted(seqs) for seqs in by_key.values())


def test_four_workers_and_three_relays_deliver_each_event_once_in_key_order(
    fast_receivers: Callable[[str], FastReceiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receivers = {name: fast_receivers(name) for name in ("a", "b", "c")}
    config, settings = config_factory(
        {
            "max_in_flight": 32,
            "endpoints": [{"name": n, "url": r.url} for n, r in receivers.items()],
        }
    )
    procs = processes_factory(config)
    for _ in range(4):
        procs.worker("--concurrency", "8")
    for _ in range(3):
        procs.relay()
    event_ids = record_events(
        database_url,
        settings,
        [("update", "peer", f"key-{i % 500}", {"Seq": i}) for i in range(10_000)],
        per_transaction=200,
    )
    wait_for(
        lambda: statuses(db) == {"delivered": 30_000},
        timeout=600,
        interval=1.0,
        what="30,000 deliveries",
    )
    for receiver in receivers.values():
        _assert_once_each_in_order(receiver, database_url, event_ids)


def test_rolling_restart_with_sigterm_delivers_everything_exactly_once(
    fast_receivers: Callable[[str], FastReceiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = fast_receivers("rolling")
    config, settings = config_factory({"url": receiver.url, "max_in_flight": 32})
    procs = processes_factory(config)
    for _ in range(2):
        procs.worker("--concurrency", "8")
    for _ in range(2):
        procs.relay()
    event_ids: list[int] = []

    def produce() -> None:
        for start in range(0, 5_000, 100):
            event_ids.extend(
                record_events(
                    database_url,
                    settings,
                    [
                        ("update", "peer", f"key-{i % 200}", {"Seq": i})
                        for i in range(start, start + 100)
                    ],
                    per_transaction=100,
                )
            )
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        for old in list(procs.started):
            wait_for(lambda: receiver.count() > 0, what="deliveries flowing")
            assert old.terminate(timeout=60) == 0, f"{old.name} did not exit cleanly"
            if old.name.startswith("worker"):
                procs.worker("--concurrency", "8")
            else:
                procs.relay()
    finally:
        producer.join(120)
    assert len(event_ids) == 5_000
    wait_for(lambda: statuses(db) == {"delivered": 5_000}, timeout=300, interval=0.5, what="5,000")
    _assert_once_each_in_order(receiver, database_url, event_ids)
    assert (
        db.execute(
            "SELECT count(*) FROM webhook_attempts GROUP BY delivery_id HAVING count(*) > 1"
        ).fetchall()
        == []
    )
