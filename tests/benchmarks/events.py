"""Writing the events a figure delivers: through the outbox writer, or in bulk in SQL."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from services.config import Endpoint
from services.db.queries import query
from services.outbox import ordering_key, record
from services.payloads.envelope import envelope


def peer_payload(i: int) -> dict[str, Any]:
    """A peer payload of wg-portal's shape and usual size (~1 KB as an envelope)."""
    key = base64.b64encode(i.to_bytes(32, "big")).decode()
    return {
        "CreatedBy": "admin@wgportal.local",
        "UpdatedBy": "admin@wgportal.local",
        "CreatedAt": "2026-11-26T10:00:00Z",
        "UpdatedAt": "2026-11-26T10:00:00Z",
        "Endpoint": "vpn.example.com:51820",
        "EndpointPublicKey": "n6Cgqtn3YjXtBf5YW09Xyng0awWaykeVDxCYD/MNHBw=",
        "AllowedIPsStr": "10.11.12.0/24,10.20.0.0/16",
        "ExtraAllowedIPsStr": "",
        "PresharedKey": "",
        "PersistentKeepalive": 25,
        "DisplayName": f"peer {i}",
        "Identifier": key,
        "UserIdentifier": "alice",
        "InterfaceIdentifier": "wg0",
        "Disabled": None,
        "DisabledReason": "",
        "ExpiresAt": None,
        "Notes": "",
        "AutomaticallyCreated": False,
        "PrivateKey": "",
        "PublicKey": key,
        "InterfaceType": "client",
        "Addresses": [f"10.11.{(i >> 8) & 255}.{i & 255}/32"],
        "CheckAliveAddress": "",
        "DnsStr": "1.1.1.1,9.9.9.9",
        "DnsSearchStr": "",
        "Mtu": 1420,
    }


def record_many(
    dsn: str,
    count: int,
    targets: Callable[[int], Sequence[Endpoint]],
    per_transaction: int = 1000,
    start: int = 0,
) -> None:
    """`count` peer updates, each about its own peer, written with the outbox's own statement
    (`record_event`: event, fan-out, NOTIFY) and parameters, batched in pipeline mode: the
    same rows `services.outbox.record` writes, without a round trip per event."""
    with psycopg.connect(dsn) as conn:
        for first in range(start, start + count, per_transaction):
            params = []
            for i in range(first, min(first + per_transaction, start + count)):
                identifier = f"peer-{i}"
                params.append(
                    {
                        "event": "update",
                        "entity": "peer",
                        "identifier": identifier,
                        "body": envelope("update", "peer", identifier, peer_payload(i)),
                        "ordering_key": ordering_key("peer", identifier),
                        "endpoints": [e.name for e in targets(i) if e.wants("update", "peer")],
                        "trace_context": None,
                    }
                )
            with conn.cursor() as cur:
                cur.executemany(query("record_event"), params)
            conn.commit()


def record_steady(
    dsn: str,
    endpoints: Sequence[Endpoint],
    rate: float,
    seconds: float,
    start: int = 0,
    on_tick: Callable[[float], None] | None = None,
) -> dict[str, float]:
    """One event per transaction at `rate`/s for `seconds` (open loop: a late slot is not
    skipped, the next ones are not delayed); {webhook-id: Unix time just after its commit}."""
    committed: dict[int, float] = {}
    count = int(rate * seconds)
    with psycopg.connect(dsn) as conn:
        began = time.monotonic()
        for n in range(count):
            slot = began + n / rate
            if (wait := slot - time.monotonic()) > 0:
                time.sleep(wait)
            i = start + n
            event_id = record(conn, endpoints, "update", "peer", f"peer-{i}", peer_payload(i))
            conn.commit()
            committed[event_id] = time.time()
            if on_tick is not None:
                on_tick(time.monotonic() - began)
        header_of = dict(
            conn.execute(
                "SELECT id, webhook_id FROM webhook_events WHERE id = ANY(%s)", (list(committed),)
            ).fetchall()
        )
    return {header_of[event_id]: at for event_id, at in committed.items()}


BACKLOG_SQL = """
INSERT INTO webhook_events (event, entity, identifier, body)
SELECT 'update', 'peer', 'peer-' || g,
       '{"event":"update","entity":"peer","identifier":"peer-' || g
       || '","payload":{"Identifier":"peer-' || g || '","InterfaceIdentifier":"wg0",'
       || '"DisplayName":"peer ' || g || '","Addresses":["10.11.12.2/32"],"Mtu":1420}}'
FROM generate_series(1, %(count)s) AS g;
-- the rows are consistent by construction: skip the per-row foreign key check, as pg_restore
-- --disable-triggers does (the indexes are maintained as usual)
SET LOCAL session_replication_role = replica;
INSERT INTO webhook_deliveries (event_id, endpoint, ordering_key)
SELECT id, %(endpoint)s, 'peer:' || identifier FROM webhook_events ORDER BY id;
"""


def backlog(dsn: str, count: int, endpoint: str) -> float:
    """`count` pending deliveries made in SQL (generate_series), then VACUUM ANALYZE and a
    CHECKPOINT, as autovacuum and the checkpointer would have done by the time a backlog that
    size has built up; the seconds. Without the checkpoint, the drains that follow a 1M build
    ran inside the checkpoint that the build's own WAL set off (pg_stat_checkpointer: requested
    during the first phase, done only after the second), and the phases they are compared with
    did not."""
    began = time.monotonic()
    with psycopg.connect(dsn) as conn:
        for statement in BACKLOG_SQL.split(";"):
            if statement.strip():
                conn.execute(statement.encode(), {"count": count, "endpoint": endpoint})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE webhook_events, webhook_deliveries")
        conn.execute("CHECKPOINT")
    return time.monotonic() - began
