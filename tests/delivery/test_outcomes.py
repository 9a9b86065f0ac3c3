"""How each answer of a receiver is classified, retried and recorded (DESIGN §4.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from standardwebhooks import Webhook

from tests.delivery.conftest import Stack
from tests.support.events import record_events, statuses
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for

USER = ("create", "user", "alice", {"Identifier": "alice"})


def _fails_first(n: int, status: int = 500) -> Callable[[Receiver, Received], Reply]:
    def behaviour(receiver: Receiver, _request: Received) -> Reply:
        return Reply(status=status) if receiver.count() <= n else Reply(status=200)

    return behaviour


def _delivery(db: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT status, attempts, last_status_code, last_error FROM webhook_deliveries"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_retry_then_success_keeps_id_and_body(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(_fails_first(2))
    settings, _ = start_stack({"url": receiver.url})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[0] == "delivered", what="delivery")
    assert _delivery(db)[:3] == ("delivered", 3, 200)
    assert receiver.count() == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    bodies = {r.body for r in receiver.requests}
    assert len(ids) == 1 and len(bodies) == 1
    outcomes = db.execute(
        "SELECT status_code, outcome FROM webhook_attempts ORDER BY id"
    ).fetchall()
    assert outcomes == [(500, "retry"), (500, "retry"), (200, "delivered")]


def test_exhausted_schedule_marks_delivery_dead(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(status=500, body=b"broken"))
    settings, _ = start_stack({"url": receiver.url, "retry_schedule": ["100ms", "100ms"]})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[0] == "dead", what="dead")
    assert _delivery(db)[:3] == ("dead", 3, 500)  # first try + one per schedule step
    assert receiver.count() == 3
    bodies = db.execute("SELECT DISTINCT response_body FROM webhook_attempts").fetchall()
    assert bodies == [("broken",)]


def test_410_marks_delivery_dead_without_retry(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(status=410))
    settings, _ = start_stack({"url": receiver.url})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[0] == "dead", what="dead")
    assert _delivery(db)[:3] == ("dead", 1, 410)
    assert receiver.count() == 1


def test_redirect_is_not_followed_and_counts_as_failure(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, q: (
            Reply(status=200)
            if q.path == "/moved"
            else Reply(status=301, headers={"Location": f"http://127.0.0.1:{r.port}/moved"})
        )
    )
    settings, _ = start_stack({"url": receiver.url, "retry_schedule": ["100ms"]})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[0] == "dead", what="dead after the schedule")
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
    assert _delivery(db)[2] == 301


def test_retry_after_is_honoured(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, _q: (
            Reply(status=429, headers={"Retry-After": "2"}) if r.count() == 1 else Reply(status=200)
        )
    )
    settings, _ = start_stack({"url": receiver.url, "retry_schedule": ["100ms", "5s"]})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[0] == "delivered", what="delivered")
    first, second = receiver.requests
    assert second.at - first.at >= 2.0


def test_total_timeout_cuts_a_receiver_that_never_answers(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(lambda _r, _q: Reply(black_hole=True))
    settings, _ = start_stack({"url": receiver.url, "timeout": "1s", "retry_schedule": ["1h"]})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[1] == 1, what="the first attempt to be recorded")
    status, attempts, code, error = _delivery(db)
    assert (status, attempts, code) == ("pending", 1, None)
    assert "timeout" in error
    duration = db.execute("SELECT duration_ms FROM webhook_attempts").fetchone()
    assert duration is not None and 900 <= duration[0] < 5000


def test_total_timeout_cuts_a_receiver_that_trickles_its_answer(
    receiver_factory: Callable[..., Receiver],
    start_stack: Stack,
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    """requests' own timeout is per read: a byte every 0.2 s would never trip it."""
    receiver = receiver_factory(lambda _r, _q: Reply(trickle=True))
    settings, _ = start_stack({"url": receiver.url, "timeout": "1s", "retry_schedule": ["1h"]})
    record_events(database_url, settings, [USER])
    wait_for(lambda: _delivery(db)[1] == 1, what="the first attempt to be recorded")
    assert "timeout" in _delivery(db)[3]
    duration = db.execute("SELECT duration_ms FROM webhook_attempts").fetchone()
    assert duration is not None and 900 <= duration[0] < 5000


def test_signature_verifies_with_the_standard_webhooks_library(
    receiver: Receiver, start_stack: Stack, database_url: str, db: psycopg.Connection[Any]
) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    settings, _ = start_stack({"url": receiver.url, "signing_secret": secret})
    record_events(database_url, settings, [USER])
    wait_for(lambda: receiver.count() == 1, what="the webhook")
    request = receiver.requests[0]
    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified["identifier"] == "alice"
    tampered = request.body.replace(b"alice", b"mallory")
    try:
        Webhook(secret).verify(tampered, request.headers)
    except Exception as exc:  # the library raises its own WebhookVerificationError
        assert "signature" in str(exc).lower()
    else:
        raise AssertionError("a tampered body must not verify")
    assert statuses(db) == {"delivered": 1} or wait_for(lambda: statuses(db) == {"delivered": 1})
