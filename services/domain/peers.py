"""Peers: every change writes the row and its webhook event(s) in the caller's transaction.

A peer's identifier is its public key. Changing the key (a PUT with a new PublicKey) re-keys the
row in place and records `delete` for the old identifier and `update` for the new one, in the same
transaction (wg-portal uses two). A PUT that changes nothing writes and sends nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services import outbox
from services.config import Settings
from services.db import store, tables
from services.db.store import Connection
from services.domain import addresses
from services.domain.errors import Conflict, Invalid, NotFound
from services.domain.keys import generate_keypair, generate_preshared_key, public_key_of
from services.payloads.peer import peer_payload

TABLE = "peers"
USER_DELETED = "user deleted"
USER_DISABLED = "user disabled"
EXPIRED = "expired"
SYSTEM_ACTOR = "_WG_SYS_ADMIN_"  # wg-portal's actor for what it does by itself


@dataclass(frozen=True)
class PeerFields:
    """What an API caller may set on a peer; `identifier` is the (new) public key."""

    identifier: str
    interface_identifier: str
    user_identifier: str = ""
    display_name: str = ""
    disabled: bool = False
    disabled_reason: str = ""
    expires_at: date | None = None
    notes: str = ""
    private_key: str = ""
    preshared_key: str = ""
    interface_type: str = "client"
    addresses: tuple[str, ...] = ()
    check_alive_address: str = ""
    extra_allowed_ips: tuple[str, ...] = ()
    endpoint: str = ""
    endpoint_overridable: bool = False
    endpoint_public_key: str = ""
    endpoint_public_key_overridable: bool = False
    allowed_ips: tuple[str, ...] = ()
    allowed_ips_overridable: bool = False
    persistent_keepalive: int = 0
    persistent_keepalive_overridable: bool = False
    dns: tuple[str, ...] = ()
    dns_overridable: bool = False
    dns_search: tuple[str, ...] = ()
    dns_search_overridable: bool = False
    mtu: int = 0
    mtu_overridable: bool = False
    firewall_mark: int = 0
    firewall_mark_overridable: bool = False
    routing_table: str = ""
    routing_table_overridable: bool = False
    pre_up: str = ""
    pre_up_overridable: bool = False
    post_up: str = ""
    post_up_overridable: bool = False
    pre_down: str = ""
    pre_down_overridable: bool = False
    post_down: str = ""
    post_down_overridable: bool = False


def _values(fields: PeerFields, existing: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The columns `fields` stand for; a peer that stays disabled keeps its disabled time."""
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
    values["expires_at"] = (
        datetime(fields.expires_at.year, fields.expires_at.month, fields.expires_at.day, tzinfo=UTC)
        if fields.expires_at
        else None
    )
    return values


def _check(conn: Connection, settings: Settings, fields: PeerFields) -> None:
    """The rules that need the database or more than one field."""
    if fields.private_key and public_key_of(fields.private_key) != fields.identifier:
        raise Invalid("PrivateKey: does not belong to the peer's public key")
    if tables.get(conn, "interfaces", fields.interface_identifier, "FOR KEY SHARE") is None:
        raise Invalid(
            f"InterfaceIdentifier: interface {fields.interface_identifier} does not exist"
        )
    owner = fields.user_identifier
    # KEY SHARE: a concurrent delete of that user waits for this transaction (and vice versa).
    if (
        owner
        and owner != settings.core.admin_user
        and tables.get(conn, "users", owner, "FOR KEY SHARE") is None
    ):
        raise Invalid(f"UserIdentifier: user {owner} does not exist")


def record(conn: Connection, settings: Settings, event: str, row: dict[str, Any]) -> None:
    outbox.record(
        conn,
        settings.webhook.endpoints,
        event,
        "peer",
        row["identifier"],
        peer_payload(row, settings.webhook.include_secrets),
    )


def get(conn: Connection, identifier: str) -> dict[str, Any] | None:
    return tables.get(conn, TABLE, identifier)


def fields_of(row: dict[str, Any]) -> PeerFields:
    """The fields of a row (a stored or a prepared peer), to create it or write it back."""
    values = {f.name: row[f.name] for f in dataclasses.fields(PeerFields)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    values["disabled"] = row["disabled"] is not None
    values["expires_at"] = row["expires_at"].astimezone(UTC).date() if row["expires_at"] else None
    return PeerFields(**values)


def _select(conn: Connection, name: str, identifier: str) -> list[dict[str, Any]]:
    return store.rows(conn, name, {"identifier": identifier})


def for_interface(conn: Connection, interface: str, lock: bool = False) -> list[dict[str, Any]]:
    return _select(
        conn, "peers_of_interface_for_update" if lock else "peers_of_interface", interface
    )


def for_user(conn: Connection, user: str, lock: bool = False) -> list[dict[str, Any]]:
    return _select(conn, "peers_of_user_for_update" if lock else "peers_of_user", user)


def create(conn: Connection, settings: Settings, fields: PeerFields, actor: str) -> dict[str, Any]:
    """Insert the peer and record `create`; the caller owns the transaction."""
    _check(conn, settings, fields)
    now = datetime.now(UTC)
    values = _values(fields, None, now)
    values.update(created_by=actor, updated_by=actor, created_at=now, updated_at=now)
    row = tables.insert(conn, TABLE, values)
    if row is None:
        raise Conflict(f"peer {fields.identifier} already exists")
    record(conn, settings, "create", row)
    return row


def update(
    conn: Connection, settings: Settings, identifier: str, fields: PeerFields, actor: str
) -> dict[str, Any]:
    """Replace the peer's fields; a new public key re-keys it (`delete` old + `update` new)."""
    existing = tables.get(conn, TABLE, identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"peer {identifier} not found")
    _check(conn, settings, fields)
    now = datetime.now(UTC)
    values = _values(fields, existing, now)
    if not tables.changed(existing, values):
        return existing
    rekeyed = fields.identifier != identifier
    if rekeyed and tables.get(conn, TABLE, fields.identifier, "FOR UPDATE") is not None:
        raise Conflict(f"peer {fields.identifier} already exists")
    values.update(updated_by=actor, updated_at=now)
    # The new key may have been created since the check above: the same Conflict.
    with store.conflict_if_taken(f"peer {fields.identifier} already exists"):
        row = tables.update(conn, TABLE, identifier, values)
    if rekeyed:
        # The status belongs to the old key's WireGuard peer, which no longer exists.
        store.run(conn, "delete_peer_status", {"identifier": identifier})
        record(conn, settings, "delete", existing)
    record(conn, settings, "update", row)
    return row


def delete(conn: Connection, settings: Settings, identifier: str) -> None:
    existing = tables.get(conn, TABLE, identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"peer {identifier} not found")
    remove(conn, settings, existing)


def remove(conn: Connection, settings: Settings, row: dict[str, Any]) -> None:
    """Delete a peer the caller has locked, with its status, and record `delete`."""
    tables.delete(conn, TABLE, row["identifier"])
    store.run(conn, "delete_peer_status", {"identifier": row["identifier"]})
    record(conn, settings, "delete", row)


def _set(
    conn: Connection, settings: Settings, row: dict[str, Any], actor: str, **values: Any
) -> None:
    values.update(updated_by=actor, updated_at=datetime.now(UTC))
    record(conn, settings, "update", tables.update(conn, TABLE, row["identifier"], values))


def release_user(conn: Connection, settings: Settings, user: str, actor: str) -> None:
    """The user is being deleted: delete its peers (core.delete_peer_after_user_deleted) or
    disable them with reason "user deleted" and clear their owner; one event per peer."""
    now = datetime.now(UTC)
    for row in for_user(conn, user, lock=True):
        if settings.core.delete_peer_after_user_deleted:
            remove(conn, settings, row)
        elif row["disabled"] is None:
            _set(
                conn,
                settings,
                row,
                actor,
                user_identifier="",
                disabled=now,
                disabled_reason=USER_DELETED,
            )
        else:  # already disabled for its own reason: keep that, but drop the dangling owner
            _set(conn, settings, row, actor, user_identifier="")


def disable_for_user(
    conn: Connection, settings: Settings, user: str, disabled: datetime, actor: str
) -> None:
    """The user was disabled: disable its enabled peers with reason "user disabled"."""
    for row in for_user(conn, user, lock=True):
        if row["disabled"] is None:
            _set(conn, settings, row, actor, disabled=disabled, disabled_reason=USER_DISABLED)


def enable_for_user(conn: Connection, settings: Settings, user: str, actor: str) -> None:
    """The user was enabled again: re-enable the peers its disabling disabled (if configured)."""
    if not settings.core.re_enable_peer_after_user_enable:
        return
    for row in for_user(conn, user, lock=True):
        if row["disabled"] is not None and row["disabled_reason"] == USER_DISABLED:
            _set(conn, settings, row, actor, disabled=None, disabled_reason="")


def disable_expired(conn: Connection, settings: Settings, now: datetime) -> list[str]:
    """wg-portal's expiry check: disable every enabled peer whose `ExpiresAt` has passed, with
    reason "expired" and one `update` each. A peer another transaction holds is skipped: the
    next check finds it. Returns the identifiers disabled."""
    rows = store.rows(conn, "lock_expired_peers", {"now": now})
    for row in rows:
        _set(conn, settings, row, SYSTEM_ACTOR, disabled=now, disabled_reason=EXPIRED)
    return [row["identifier"] for row in rows]


def prepare(conn: Connection, settings: Settings, interface: str, actor: str) -> dict[str, Any]:
    """A new, unsaved peer for `interface`: fresh keys, free addresses (a row-shaped dict)."""
    iface = tables.get(conn, "interfaces", interface)
    if iface is None:
        raise NotFound(f"interface {interface} not found")
    used = {addresses.address_of(a) for a in iface["addresses"]}
    for peer in store.rows(conn, "peer_addresses_of_interface", {"identifier": interface}):
        used.update(addresses.address_of(a) for a in peer["addresses"])
    fresh = [
        addresses.first_free_host(addresses.network_of(n), used) for n in iface["peer_def_network"]
    ]
    private, public = generate_keypair()
    now = datetime.now(UTC)
    return {
        "identifier": public,
        "interface_identifier": interface,
        "user_identifier": actor,
        "display_name": f"Peer {public[:8]}",
        "disabled": None,
        "disabled_reason": "",
        "expires_at": None,
        "notes": "",
        "automatically_created": False,
        "private_key": private,
        "preshared_key": generate_preshared_key(),
        "interface_type": "server" if iface["type"] == "client" else "client",
        "addresses": fresh,
        "check_alive_address": "",
        "extra_allowed_ips": [],
        "endpoint": iface["peer_def_endpoint"],
        "endpoint_public_key": iface["public_key"],
        "allowed_ips": iface["peer_def_allowed_ips"],
        "persistent_keepalive": iface["peer_def_persistent_keepalive"],
        "dns": iface["peer_def_dns"],
        "dns_search": iface["peer_def_dns_search"],
        "mtu": iface["peer_def_mtu"],
        "firewall_mark": iface["peer_def_firewall_mark"],
        "routing_table": iface["peer_def_routing_table"],
        "pre_up": iface["peer_def_pre_up"],
        "post_up": iface["peer_def_post_up"],
        "pre_down": iface["peer_def_pre_down"],
        "post_down": iface["peer_def_post_down"],
        **{f"{option}_overridable": True for option in OPTIONS},
        "created_by": actor,
        "updated_by": actor,
        "created_at": now,
        "updated_at": now,
    }


# The peer settings wg-portal models as ConfigOption{Value, Overridable}.
OPTIONS = (
    "endpoint",
    "endpoint_public_key",
    "allowed_ips",
    "persistent_keepalive",
    "dns",
    "dns_search",
    "mtu",
    "firewall_mark",
    "routing_table",
    "pre_up",
    "post_up",
    "pre_down",
    "post_down",
)
