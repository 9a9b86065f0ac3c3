"""Make the local row of one (entity, identifier) equal wg-portal's state, with its event.

Both ways wg-webhooks learns wg-portal's state use this one module: ingest (wg-portal's own
webhooks, `services/bridge/ingest.py`) and reconcile (wg-portal's REST API). Each converts what
it reads into the domain's own representation and calls `apply`; the event is recorded by the
entity's domain module (`users.record`, `peers.record`, `interfaces.record`, the collector's
`status.publish`), so receivers get exactly what a change made through the REST API or seen by the
collector produces: same payload models, same `include_secrets` redaction, same
`peer_state_format`.

What `apply` takes as `state`: a mapping of the entity table's COLUMN NAMES (services/db/schema.sql:
`users`, `interfaces`, `peers`) to values as the domain stores them: lists as lists of strings,
times as timezone-aware datetimes, `users.auth_sources` as a list of
`{"Source", "ProviderName"}` dicts. Columns left out keep their stored value (their default on
insert), so a source that does not know a column (wg-portal's webhook models carry no
`*_overridable` flag, no password) never erases it. `None` means "wg-portal has no such entity".

The no-op rule: a state that differs from the stored row only in bookkeeping (`updated_at`,
`updated_by`) writes nothing and records nothing; wg-portal publishes an update on every save.

Concurrency: the row is locked (`FOR UPDATE`; a missing row is inserted with `ON CONFLICT DO
NOTHING`, which waits for a concurrent insert of the same key to commit, then locked) before it is
compared, so ingest and reconcile applying the same change at once record exactly one event.

Leniency: the mirror never refuses a real wg-portal entity because local validation is stricter
(an endpoint without a port, a server interface without ListenPort, a peer whose user or interface
does not exist yet, an unusual key). It logs a warning, stores the entity and delivers its event.
Only what the table itself cannot hold (a CHECK such as an MTU over 9000) raises.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.collector.rules import Publish
from services.collector.status import publish
from services.config import Settings
from services.db import tables
from services.db.queries import query
from services.domain import interfaces, peers, users

log = logging.getLogger(__name__)

Entity = Literal["user", "interface", "peer"]

# Columns whose change alone is not a change: wg-portal bumps updated_* on every save, and
# created_* are what reconcile (wg-portal's REST API has no such fields) can only approximate;
# an exact value from a webhook is stored with the next real change, never sent on its own.
BOOKKEEPING = frozenset({"updated_at", "updated_by", "created_at", "created_by"})
# Times compared as on/off: the REST API says only whether a user or peer is disabled or
# locked, so reconcile stores the time it saw it; wg-portal's exact time is not a new change.
_SINCE = frozenset({"disabled", "locked"})


def is_change(existing: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether storing `values` over `existing` changes anything a receiver would call a change
    (the no-op rule; reconcile plans with it too)."""
    for column, value in values.items():
        if column in BOOKKEEPING:
            continue
        old = existing[column]
        if column in _SINCE and (old is None) == (value is None):
            continue
        if old != value:
            return True
    return False


_TABLES: dict[str, str] = {"user": "users", "interface": "interfaces", "peer": "peers"}
_RECORD: dict[str, Callable[[Connection[Any], Settings, str, dict[str, Any]], None]] = {
    "user": users.record,
    "interface": interfaces.record,
    "peer": peers.record,
}
_JSONB = frozenset({"auth_sources"})
_KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")
_HOST_PORT = re.compile(r"^(\[[^\]]*\]|[^:\[\]]+):\d{1,5}$")


def apply(
    conn: Connection[Any],
    settings: Settings,
    entity: Entity,
    identifier: str,
    state: Mapping[str, Any] | None,
    *,
    emit: bool = True,
    event: str | None = None,
) -> str | None:
    """Make the row equal `state` (None = delete it); return the event recorded, or None.

    `event` is what the source called the change, when it said: an `update` of a row this side
    does not have yet (a peer re-keyed in wg-portal: `delete` old + `update` new) is recorded as
    `update`, as the REST API records a re-key. `emit=False` (reconcile's `--baseline`) writes the
    row and records nothing. Runs in the caller's transaction; the caller commits.
    """
    if conn.autocommit:
        raise RuntimeError("mirror.apply must run inside a transaction")
    table = _TABLES[entity]
    if state is None:
        return _delete(conn, settings, entity, identifier, emit)
    values = {**state, "identifier": identifier}
    for warning in leniency_warnings(conn, entity, values):
        log.warning("%s %s from wg-portal stored as it is: %s", entity, identifier, warning)
    existing = tables.get(conn, table, identifier, "FOR UPDATE")
    recorded = "update" if event == "update" else "create"
    if existing is None:
        row = tables.insert(conn, table, _adapt(values))
        if row is None:  # a concurrent apply inserted it first and has committed: compare
            existing = tables.get(conn, table, identifier, "FOR UPDATE")
            assert existing is not None, f"{table} {identifier} vanished under its lock"
    if existing is not None:
        changes = {c: v for c, v in values.items() if existing[c] != v}
        if not is_change(existing, changes):
            return None
        row = tables.update(conn, table, identifier, _adapt(changes))
        recorded = "update"
    if not emit:
        return None
    assert row is not None
    _RECORD[entity](conn, settings, recorded, row)
    return recorded


def _delete(
    conn: Connection[Any], settings: Settings, entity: Entity, identifier: str, emit: bool
) -> str | None:
    table = _TABLES[entity]
    existing = tables.get(conn, table, identifier, "FOR UPDATE")
    if existing is None:
        return None
    if not emit:
        if entity == "interface":
            for peer in peers.for_interface(conn, identifier, lock=True):
                _drop_peer(conn, peer["identifier"])
        if entity == "peer":
            _drop_peer(conn, identifier)
        else:
            tables.delete(conn, table, identifier)
        return None
    if entity == "interface":
        # wg-portal deletes an interface's peers without events; the REST API's delete sends them.
        interfaces.delete(conn, settings, identifier)
    elif entity == "peer":
        peers.remove(conn, settings, existing)
    else:
        # Not users.delete: wg-portal sends the updates of the user's peers (disabled, owner
        # cleared) itself, and they arrive here as their own events.
        tables.delete(conn, table, identifier)
        users.record(conn, settings, "delete", existing)
    return "delete"


def _drop_peer(conn: Connection[Any], identifier: str) -> None:
    tables.delete(conn, "peers", identifier)
    conn.execute(query("delete_peer_status"), {"identifier": identifier})


def _adapt(values: Mapping[str, Any]) -> dict[str, Any]:
    return {c: Jsonb(v) if c in _JSONB else v for c, v in values.items()}


def leniency_warnings(conn: Connection[Any], entity: Entity, state: Mapping[str, Any]) -> list[str]:
    """What the REST API would have refused in `state`, and the mirror stores anyway."""
    found: list[str] = []
    if entity == "peer":
        interface = state.get("interface_identifier")
        if interface and tables.get(conn, "interfaces", interface) is None:
            found.append(f"interface {interface} does not exist (yet)")
        owner = state.get("user_identifier")
        if owner and tables.get(conn, "users", owner) is None:
            found.append(f"user {owner} does not exist (yet)")
        endpoint = state.get("endpoint")
        if endpoint and not _HOST_PORT.match(endpoint):
            found.append(f"Endpoint {endpoint!r} has no port")
        if not _KEY.match(str(state.get("identifier", ""))):
            found.append("PublicKey is not a WireGuard key")
    elif entity == "interface":
        if state.get("type") == "server" and not state.get("listen_port"):
            found.append("server interface without ListenPort")
        endpoint = state.get("peer_def_endpoint")
        if endpoint and not _HOST_PORT.match(endpoint):
            found.append(f"PeerDefEndpoint {endpoint!r} has no port")
        if "public_key" in state and not _KEY.match(str(state["public_key"])):
            found.append("PublicKey is not a WireGuard key")
    return found


def apply_status(
    conn: Connection[Any],
    settings: Settings,
    identifier: str,
    status: Mapping[str, Any],
    event: Publish,
) -> str | None:
    """Store a peer's status as wg-portal reported it; record `event` if it flips the state.

    `status` holds `peer_status` columns (is_connected, is_pingable, last_ping, bytes_received,
    bytes_transmitted, endpoint, last_handshake, last_session_start, updated_at and, when known,
    interface_identifier). The event goes through the collector's own `status.publish`, so it has
    `webhook.peer_state_format`'s shape; a connect the collector (or an earlier delivery of the
    same event) already published records nothing. In the `peer_metric` format the peer itself
    must exist locally (its model is in the payload): LookupError otherwise.
    """
    if conn.autocommit:
        raise RuntimeError("mirror.apply_status must run inside a transaction")
    peer = tables.get(conn, "peers", identifier, "FOR KEY SHARE")
    if peer is None and settings.webhook.peer_state_format == "peer_metric":
        raise LookupError(f"peer {identifier} is not known here: no peer model to send")
    interface = status.get("interface_identifier") or (peer or {}).get("interface_identifier", "")
    key = {"identifier": identifier, "interface_identifier": interface}
    inserted = conn.execute(query("ensure_reported_status_row"), key).fetchone()
    with conn.cursor(row_factory=dict_row) as cur:
        stored = cur.execute(query("lock_status_row"), key).fetchone()
    assert stored is not None
    connected = event is Publish.CONNECT
    flips = inserted is not None or stored["is_connected"] != connected
    row = {
        **stored,
        **status,
        "interface_identifier": interface,
        "is_connected": connected,
        "disconnected_since": None,
        "updated_at": status.get("updated_at") or datetime.now(UTC),
    }
    conn.execute(query("store_reported_status"), row)
    if not flips:
        return None
    publish(conn, settings, [(event, row)])
    return event.value
