"""Interfaces: every change writes the row and its webhook event(s) in the caller's transaction.

Deleting an interface deletes its peers first, each with its own peer `delete` event (wg-portal
deletes them silently), then records the interface `delete` with Disabled set and DisabledReason
"deleted", as wg-portal sends it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services import outbox
from services.config import Settings
from services.db import store, tables
from services.db.store import Connection
from services.domain import addresses, peers
from services.domain.errors import Conflict, Invalid, NotFound
from services.domain.keys import generate_keypair, public_key_of
from services.payloads.interface import interface_payload

TABLE = "interfaces"
DELETED = "deleted"
DEFAULT_MTU = 1420
DEFAULT_KEEPALIVE = 16


@dataclass(frozen=True)
class InterfaceFields:
    """What an API caller may set on an interface."""

    identifier: str
    type: str
    private_key: str
    public_key: str
    display_name: str = ""
    disabled: bool = False
    disabled_reason: str = ""
    save_config: bool = False
    listen_port: int = 0
    addresses: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    mtu: int = 0
    firewall_mark: int = 0
    routing_table: str = ""
    pre_up: str = ""
    post_up: str = ""
    pre_down: str = ""
    post_down: str = ""
    peer_def_network: tuple[str, ...] = ()
    peer_def_dns: tuple[str, ...] = ()
    peer_def_dns_search: tuple[str, ...] = ()
    peer_def_endpoint: str = ""
    peer_def_allowed_ips: tuple[str, ...] = ()
    peer_def_mtu: int = 0
    peer_def_persistent_keepalive: int = 0
    peer_def_firewall_mark: int = 0
    peer_def_routing_table: str = ""
    peer_def_pre_up: str = ""
    peer_def_post_up: str = ""
    peer_def_pre_down: str = ""
    peer_def_post_down: str = ""


def _values(
    fields: InterfaceFields, existing: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {
        f.name: list(v) if isinstance(v, tuple) else v
        for f in dataclasses.fields(fields)
        for v in (getattr(fields, f.name),)
    }
    if fields.disabled:
        values["disabled"] = (existing or {}).get("disabled") or now
    else:
        values["disabled"] = None
        values["disabled_reason"] = ""
    return values


def _check(fields: InterfaceFields) -> None:
    if public_key_of(fields.private_key) != fields.public_key:
        raise Invalid("PublicKey: does not belong to PrivateKey")


def record(conn: Connection, settings: Settings, event: str, row: dict[str, Any]) -> None:
    outbox.record(
        conn,
        settings.webhook.endpoints,
        event,
        "interface",
        row["identifier"],
        interface_payload(row, settings.webhook.include_secrets),
    )


def get(conn: Connection, identifier: str) -> dict[str, Any] | None:
    """The interface with `total_peers` and `enabled_peers`, or None."""
    return store.row(conn, "interface_with_counts", {"identifier": identifier})


def get_all(conn: Connection) -> list[dict[str, Any]]:
    return store.rows(conn, "interfaces_with_counts")


def create(
    conn: Connection, settings: Settings, fields: InterfaceFields, actor: str
) -> dict[str, Any]:
    """Insert the interface and record `create`; the caller owns the transaction."""
    _check(fields)
    now = datetime.now(UTC)
    values = _values(fields, None, now)
    values.update(created_by=actor, updated_by=actor, created_at=now, updated_at=now)
    row = tables.insert(conn, TABLE, values)
    if row is None:
        raise Conflict(f"interface {fields.identifier} already exists")
    record(conn, settings, "create", row)
    return row


def update(
    conn: Connection, settings: Settings, identifier: str, fields: InterfaceFields, actor: str
) -> dict[str, Any]:
    """Replace the interface's fields and record `update`; no change, no write, no event."""
    if fields.identifier != identifier:
        raise Invalid(
            "Identifier: must be the interface id of the path (interfaces cannot be renamed)"
        )
    existing = tables.get(conn, TABLE, identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"interface {identifier} not found")
    _check(fields)
    now = datetime.now(UTC)
    values = _values(fields, existing, now)
    if not tables.changed(existing, values):
        return existing
    values.update(updated_by=actor, updated_at=now)
    row = tables.update(conn, TABLE, identifier, values)
    record(conn, settings, "update", row)
    return row


def delete(conn: Connection, settings: Settings, identifier: str) -> None:
    """Delete the interface's peers (a peer `delete` each), then the interface."""
    existing = tables.get(conn, TABLE, identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"interface {identifier} not found")
    for peer in peers.for_interface(conn, identifier, lock=True):
        peers.remove(conn, settings, peer)
    tables.delete(conn, TABLE, identifier)
    record(
        conn,
        settings,
        "delete",
        {
            **existing,
            "disabled": existing["disabled"] or datetime.now(UTC),
            "disabled_reason": DELETED,
        },
    )


def prepare(conn: Connection, settings: Settings, actor: str) -> dict[str, Any]:
    """A new, unsaved server interface: free name, keys, listen port and networks (row-shaped)."""
    names: set[str] = set()
    ports: set[int] = set()
    used: list[addresses.Network] = []
    for row in store.rows(conn, "interfaces_in_use"):
        names.add(row["identifier"])
        ports.add(row["listen_port"])
        used.extend(addresses.network_of(c) for c in row["addresses"])
    advanced = settings.advanced
    networks = [addresses.first_free_network(advanced.start_cidr_v4, used)]
    if advanced.use_ip_v6:
        networks.append(addresses.first_free_network(advanced.start_cidr_v6, used))
    identifier = addresses.first_free_name(names)
    private, public = generate_keypair()
    now = datetime.now(UTC)
    return {
        "identifier": identifier,
        "display_name": identifier,
        "type": "server",
        "driver_type": "",
        "private_key": private,
        "public_key": public,
        "listen_port": addresses.first_free_port(advanced.start_listen_port, ports),
        "addresses": [addresses.first_host(n) for n in networks],
        "dns": [],
        "dns_search": [],
        "mtu": DEFAULT_MTU,
        "firewall_mark": 0,
        "routing_table": "",
        "pre_up": "",
        "post_up": "",
        "pre_down": "",
        "post_down": "",
        "save_config": False,
        "disabled": None,
        "disabled_reason": "",
        "peer_def_network": [str(n) for n in networks],
        "peer_def_dns": [],
        "peer_def_dns_search": [],
        "peer_def_endpoint": "",
        "peer_def_allowed_ips": [str(n) for n in networks],
        "peer_def_mtu": DEFAULT_MTU,
        "peer_def_persistent_keepalive": DEFAULT_KEEPALIVE,
        "peer_def_firewall_mark": 0,
        "peer_def_routing_table": "",
        "peer_def_pre_up": "",
        "peer_def_post_up": "",
        "peer_def_pre_down": "",
        "peer_def_post_down": "",
        "created_by": actor,
        "updated_by": actor,
        "created_at": now,
        "updated_at": now,
        "total_peers": 0,
        "enabled_peers": 0,
    }
