"""Deliveries in a chosen state, written as the service writes them (outbox.record), then aged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from services.config import Endpoint
from services.outbox import record


def make_event(
    database_url: str,
    endpoints: Sequence[Endpoint],
    identifier: str,
    event: str = "create",
    entity: str = "user",
) -> int:
    """Record one event (and its deliveries) in its own transaction; the event id."""
    with psycopg.connect(database_url) as conn, conn.transaction():
        return record(conn, endpoints, event, entity, identifier, {"Identifier": identifier})


def deliveries_of(db: psycopg.Connection[Any], event_id: int) -> dict[str, int]:
    rows = db.execute(
        "SELECT endpoint, id FROM webhook_deliveries WHERE event_id = %s", (event_id,)
    ).fetchall()
    return {endpoint: delivery_id for endpoint, delivery_id in rows}


def set_state(
    db: psycopg.Connection[Any],
    delivery_id: int,
    status: str,
    ago_seconds: float = 0.0,
    attempts: int = 0,
) -> None:
    """Put a delivery in `status` as if its last change was `ago_seconds` ago."""
    db.execute(
        """
        UPDATE webhook_deliveries
        SET status = %(status)s,
            attempts = %(attempts)s,
            lease_token = CASE WHEN %(status)s = 'leased' THEN gen_random_uuid() END,
            lease_expires_at = CASE WHEN %(status)s = 'leased'
                                    THEN now() + interval '1 hour' END,
            next_attempt_at = now() - make_interval(secs => %(ago)s)
                              + CASE WHEN %(status)s = 'pending' THEN interval '1 hour'
                                     ELSE interval '0' END,
            delivered_at = CASE WHEN %(status)s = 'delivered'
                                THEN now() - make_interval(secs => %(ago)s) END,
            last_status_code = CASE %(status)s WHEN 'delivered' THEN 200
                                               WHEN 'dead' THEN 500 END,
            updated_at = now() - make_interval(secs => %(ago)s)
        WHERE id = %(id)s
        """,
        {"id": delivery_id, "status": status, "ago": ago_seconds, "attempts": attempts},
    )


def add_attempt(
    db: psycopg.Connection[Any],
    delivery_id: int,
    status_code: int | None,
    outcome: str,
    body: str = "",
    error: str | None = None,
    ago_seconds: float = 0.0,
) -> None:
    db.execute(
        "INSERT INTO webhook_attempts"
        " (delivery_id, attempted_at, duration_ms, status_code, error, response_body, outcome)"
        " VALUES (%s, now() - make_interval(secs => %s), 12.5, %s, %s, %s, %s)",
        (delivery_id, ago_seconds, status_code, error, body, outcome),
    )


def status_of(db: psycopg.Connection[Any], delivery_id: int) -> str:
    row = db.execute(
        "SELECT status FROM webhook_deliveries WHERE id = %s", (delivery_id,)
    ).fetchone()
    assert row is not None
    return str(row[0])
