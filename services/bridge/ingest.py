"""One webhook from wg-portal, applied in the caller's transaction.

A recognised payload (services/bridge/shapes.py) goes through the mirror: the local row becomes
wg-portal's state and the event is recorded by the domain code the REST API uses, or nothing at
all when the save changed only bookkeeping. A connect/disconnect goes through the collector's
publishing path.

Nothing wg-portal sends is dropped. A payload that is not a known model, or one the local tables
cannot hold (a value beyond a column's CHECK, a peer_metric connect for a peer this side has never
seen while `peer_state_format` is `peer_metric`), is recorded as it was received, byte for byte,
for the endpoints that want its (event, entity), and counted in `ingest_unrecognised`. One
exception to "as received": unless `webhook.include_secrets` is on, the secret fields wg-portal's
internal structs carry (`Password`, `ApiToken`, `PrivateKey`, `PresharedKey`, at any depth) are
sent as "", the same policy as every mirrored event (wg-portal v2.0 publishes them in clear).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import Connection

from services import outbox
from services.bridge import mirror
from services.bridge.shapes import EntityChange, Envelope, StatusChange, recognise
from services.config import Settings
from services.db import tables
from services.db.queries import query

log = logging.getLogger(__name__)

# The fields of wg-portal's models and internal structs that hold a secret.
SECRET_FIELDS = frozenset({"Password", "ApiToken", "PrivateKey", "PresharedKey"})


@dataclass(frozen=True)
class Ingested:
    """What one envelope did: the shape read (None: unrecognised) and the event recorded."""

    shape: str | None
    recorded: str | None


def ingest(conn: Connection[Any], settings: Settings, envelope: Envelope) -> Ingested:
    """Apply `envelope`; the caller's transaction commits it."""
    change = recognise(envelope)
    if change is None:
        return _verbatim(conn, settings, envelope, "not a known wg-portal model")
    try:
        with conn.transaction():  # a savepoint: a refused write leaves the envelope to deliver
            return Ingested(change.shape, _apply(conn, settings, change))
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError, LookupError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return _verbatim(conn, settings, envelope, reason)


def _apply(
    conn: Connection[Any], settings: Settings, change: EntityChange | StatusChange
) -> str | None:
    if isinstance(change, EntityChange):
        return mirror.apply(
            conn, settings, change.entity, change.identifier, change.state, event=change.event
        )
    if change.peer is not None and tables.get(conn, "peers", change.identifier) is None:
        # The peer's create has not arrived (or was lost): the metric carries the whole peer.
        mirror.apply(conn, settings, "peer", change.identifier, change.peer)
    return mirror.apply_status(conn, settings, change.identifier, change.status, change.event)


def _verbatim(
    conn: Connection[Any], settings: Settings, envelope: Envelope, reason: str
) -> Ingested:
    log.warning(
        "wg-portal %s %s %s delivered verbatim: %s",
        envelope.event,
        envelope.entity,
        envelope.identifier,
        reason,
    )
    outbox.record_body(
        conn,
        settings.webhook.endpoints,
        envelope.event,
        envelope.entity,
        envelope.identifier,
        envelope.raw if settings.webhook.include_secrets else without_secrets(envelope.raw),
    )
    conn.execute(query("count_unrecognised"), {"entity": envelope.entity, "event": envelope.event})
    return Ingested(None, envelope.event)


def without_secrets(raw: str) -> str:
    """`raw` with every non-empty secret field blanked; the very same text when there is none."""
    document = json.loads(raw)
    if not _blank_secrets(document):
        return raw
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _blank_secrets(value: Any) -> bool:
    """Blank the secret fields inside `value` in place; whether any was set."""
    found = False
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS and isinstance(item, str) and item:
                value[key] = ""
                found = True
            else:
                found = _blank_secrets(item) or found
    elif isinstance(value, list):
        for item in value:
            found = _blank_secrets(item) or found
    return found
