"""Write one observation of WireGuard into `peer_status`, and the connect/disconnect events.

Only what this host's dump shows is written: a peer is recorded when its interface is a known
interface AND its public key is a peer of that interface in the database. Everything else is left
alone, so several collectors (one per WireGuard host) can share one database, and a peer that no
dump shows keeps its stored state.

One transaction per observation (the caller's): the status rows are locked (`FOR UPDATE`, in key
order so two collectors cannot deadlock), the rules decide, the rows are updated and every flip of
the published IsConnected is recorded in the outbox in the same transaction. Two collectors that
see the same peer at once serialize on its row: the second sees the first's published state and
publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row

from services import outbox
from services.collector.dump import Dump, PeerDump
from services.collector.rules import (
    PeerCounters,
    Publish,
    PublishedState,
    apply_disconnect_grace,
    is_connected,
    session_start,
)
from services.config import Settings
from services.db.queries import query
from services.payloads.peer_status import peer_metric_payload, peer_state_payload

log = logging.getLogger(__name__)

# The counters are uint64 in WireGuard and bigint here; 2**63 bytes is 8 EiB, so clamping is only a
# guard against a corrupt dump stopping every later cycle with an out-of-range error.
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Published:
    """One connect/disconnect event written by an observation."""

    event: Publish
    peer: str
    interface: str
    event_id: int


@dataclass(frozen=True)
class Observed:
    """What one observation did: how many peers it recorded and which events it wrote."""

    recorded: int
    published: tuple[Published, ...]


def record_observation(
    conn: Connection[Any], settings: Settings, dump: Dump, now: datetime
) -> Observed:
    """Apply `dump`, read at `now`, to the status rows; the caller commits (or rolls back)."""
    if conn.autocommit:
        raise RuntimeError("record_observation must run inside a transaction")
    seen = _known_peers(conn, dump)
    if not seen:
        return Observed(0, ())
    keys = sorted(seen)
    interfaces = [seen[key].interface for key in keys]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query("ensure_status_rows"), {"keys": keys, "interfaces": interfaces})
        stored = {
            row["peer_identifier"]: row
            for row in cur.execute(query("lock_status_rows"), {"keys": keys})
        }
    rows: list[dict[str, Any]] = []
    flips: list[tuple[Publish, dict[str, Any]]] = []
    for key in keys:
        row, flip = _next_status(stored[key], seen[key], settings, now)
        rows.append(row)
        if flip is not None:
            flips.append((flip, row))
    with conn.cursor() as cur:
        cur.executemany(query("update_status_row"), rows)
    published = publish(conn, settings, flips)
    return Observed(len(rows), published)


def _known_peers(conn: Connection[Any], dump: Dump) -> dict[str, PeerDump]:
    """The dump's peers the database knows on the same interface, by public key."""
    names = list(dump.interfaces)
    if not names:
        return {}
    known = {row[0] for row in conn.execute(query("known_interfaces"), {"names": names})}
    for name in names:
        if name not in known:
            log.debug("interface %s is not in the database: ignored", name)
    candidates = [peer for peer in dump.peers() if peer.interface in known]
    if not candidates:
        return {}
    matched = conn.execute(
        query("known_peers"),
        {
            "keys": [peer.public_key for peer in candidates],
            "interfaces": [peer.interface for peer in candidates],
        },
    ).fetchall()
    found = {(key, interface) for key, interface in matched}
    seen: dict[str, PeerDump] = {}
    for peer in candidates:
        if (peer.public_key, peer.interface) in found:
            seen[peer.public_key] = peer
        else:
            log.debug(
                "peer %s of interface %s is not a peer of that interface in the database: ignored",
                peer.public_key,
                peer.interface,
            )
    return seen


def _next_status(
    stored: Mapping[str, Any], peer: PeerDump, settings: Settings, now: datetime
) -> tuple[dict[str, Any], Publish | None]:
    """The row to store for `peer` and the event to publish, by the rules of reference §4."""
    rekey = settings.rekey_timeout_interval
    rx = min(peer.transfer_rx, _BIGINT_MAX)
    tx = min(peer.transfer_tx, _BIGINT_MAX)
    old = PeerCounters(
        rx=stored["bytes_received"],
        tx=stored["bytes_transmitted"],
        last_handshake=stored["last_handshake"],
        session_start=stored["last_session_start"],
    )
    new = PeerCounters(rx=rx, tx=tx, last_handshake=peer.latest_handshake)
    # Ping checks are not implemented (see docs/collector.md): IsPingable stays as stored (false).
    connected = is_connected(peer.latest_handshake, now, rekey, bool(stored["is_pingable"]))
    decision = apply_disconnect_grace(
        PublishedState(stored["is_connected"], stored["disconnected_since"]),
        connected,
        now,
        settings.statistics.disconnect_grace,
    )
    row = {
        **stored,
        "interface_identifier": peer.interface,
        "is_connected": decision.state.is_connected,
        "bytes_received": rx,
        "bytes_transmitted": tx,
        "endpoint": peer.endpoint or "",
        "last_handshake": peer.latest_handshake,
        "last_session_start": session_start(old, new, rekey, now),
        "disconnected_since": decision.state.disconnected_since,
        "updated_at": now,
    }
    return row, decision.publish


def publish(
    conn: Connection[Any], settings: Settings, flips: list[tuple[Publish, dict[str, Any]]]
) -> tuple[Published, ...]:
    """Record each flip as a connect/disconnect event in `webhook.peer_state_format`.

    Each row is a `peer_status` row just written; in the `peer_metric` format its peer must
    exist in `peers` (the payload carries the peer model).
    """
    if not flips:
        return ()
    state_format = settings.webhook.peer_state_format
    peers: dict[str, dict[str, Any]] = {}
    if state_format == "peer_metric":
        keys = [row["peer_identifier"] for _, row in flips]
        with conn.cursor(row_factory=dict_row) as cur:
            peers = {
                p["identifier"]: p for p in cur.execute(query("peers_by_keys"), {"keys": keys})
            }
    published: list[Published] = []
    for event, row in flips:
        key = row["peer_identifier"]
        if state_format == "peer_metric":
            entity = "peer_metric"
            payload = peer_metric_payload(row, peers[key], settings.webhook.include_secrets)
        else:
            entity = "peer"
            payload = peer_state_payload(row)
        event_id = outbox.record(
            conn, settings.webhook.endpoints, event.value, entity, key, payload
        )
        published.append(Published(event, key, row["interface_identifier"], event_id))
    return tuple(published)
