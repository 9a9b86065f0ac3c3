"""An endpoint failing for `webhook.disable_after` is disabled; its deliveries wait, none drop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from tests.delivery.conftest import Stack
from tests.support.events import record_events
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for


def test_endpoint_failing_past_disable_after_is_disabled_and_its_deliveries_wait(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    broken = receiver_factory(lambda _r, _q: Reply(status=500))
    settings, _ = start_stack(
        {"url": broken.url, "disable_after": "1s", "retry_schedule": ["300ms"] * 50}
    )
    record_events(database_url, settings, [("create", "user", "alice", {})])
    wait_for(
        lambda: (
            db.execute(
                "SELECT disabled_at IS NOT NULL FROM webhook_endpoints WHERE name = 'default'"
            ).fetchone()
            == (True,)
        ),
        timeout=60,
        what="the endpoint to be disabled",
    )
    tried = broken.count()
    assert tried >= 2
    record_events(database_url, settings, [("create", "user", "bob", {})])
    rows = db.execute("SELECT status FROM webhook_deliveries ORDER BY id").fetchall()
    assert all(status in ("pending", "leased") for (status,) in rows)  # waiting, not dead
    # Disabled means no more attempts: at most one batch that was already in flight.
    wait_for(
        lambda: (
            db.execute("SELECT count(*) FROM webhook_deliveries WHERE status = 'leased'").fetchone()
            == (0,)
        ),
        what="in-flight work to settle",
    )
    settled = broken.count()
    time.sleep(1.5)  # several poll intervals and retry steps: nothing may be sent meanwhile
    assert broken.count() == settled
