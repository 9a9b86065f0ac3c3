"""Recording events straight through the outbox writer (what every entity change calls)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from services.config import Settings
from services.outbox import record


def record_events(
    database_url: str,
    settings: Settings,
    items: Iterable[tuple[str, str, str, dict[str, Any]]],
    per_transaction: int = 1,
) -> list[int]:
    """Record (event, entity, identifier, payload) items, committing every `per_transaction`."""
    ids: list[int] = []
    with psycopg.connect(database_url) as conn:
        pending = 0
        for event, entity, identifier, payload in items:
            ids.append(record(conn, settings.webhook.endpoints, event, entity, identifier, payload))
            pending += 1
            if pending >= per_transaction:
                conn.commit()
                pending = 0
        conn.commit()
    return ids


def statuses(db: psycopg.Connection[Any]) -> dict[str, int]:
    rows = db.execute("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1").fetchall()
    return {status: count for status, count in rows}


def webhook_ids(database_url: str, event_ids: Iterable[int]) -> list[str]:
    """The webhook-id header each of these events is sent with, in the same order."""
    wanted = list(event_ids)
    with psycopg.connect(database_url) as conn:
        found = dict(
            conn.execute(
                "SELECT id, webhook_id FROM webhook_events WHERE id = ANY(%s)", (wanted,)
            ).fetchall()
        )
    return [found[i] for i in wanted]
