"""The outbox writer: records a webhook event and its deliveries in the caller's transaction.

Call `record` inside the same transaction as the entity change. The event row, one delivery row
per endpoint that wants it, and a NOTIFY to wake the relays are all one statement, so they
commit or roll back with the change. An advisory lock on the ordering key makes events about
one (entity, identifier) get ids in commit order, which is the order they are delivered in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import Connection

from services import tracing
from services.config import Endpoint
from services.db.queries import query
from services.payloads.envelope import envelope

CHANNEL = "webhook_outbox"


def ordering_key(entity: str, identifier: str) -> str:
    return f"{entity}:{identifier}"


def record(
    conn: Connection[Any],
    endpoints: Sequence[Endpoint],
    event: str,
    entity: str,
    identifier: str,
    payload: dict[str, Any],
) -> int:
    """Write the event and its fan-out; return the event id. Must run inside a transaction."""
    body = envelope(event, entity, identifier, payload)
    return record_body(conn, endpoints, event, entity, identifier, body)


def record_body(
    conn: Connection[Any],
    endpoints: Sequence[Endpoint],
    event: str,
    entity: str,
    identifier: str,
    body: str,
) -> int:
    """`record` with the envelope already serialized: sent as it is (ingest's verbatim events)."""
    if conn.autocommit:
        raise RuntimeError("outbox.record must run inside the entity change's transaction")
    targets = [e.name for e in endpoints if e.wants(event, entity)]
    attributes = {"wg_webhooks.event": event, "wg_webhooks.entity": entity}
    with tracing.span("outbox write", attributes) as span:
        row = conn.execute(
            query("record_event"),
            {
                "event": event,
                "entity": entity,
                "identifier": identifier,
                "body": body,
                "ordering_key": ordering_key(entity, identifier),
                "endpoints": targets,
                # the change's span, for every attempt to deliver it (services.tracing)
                "trace_context": tracing.current_traceparent(),
            },
        ).fetchone()
        assert row is not None
        event_id: int = row[0]
        if span is not None:
            span.set_attribute("wg_webhooks.event_id", event_id)
    return event_id
