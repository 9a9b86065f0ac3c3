"""Users: every change writes the row and its webhook event in one transaction.

Disabling a user disables its peers (reason "user disabled"), enabling it re-enables them when
`core.re_enable_peer_after_user_enable` is on; deleting a user disables its peers (reason "user
deleted", owner cleared) or deletes them when `core.delete_peer_after_user_deleted` is on. Each
peer change is its own `update` or `delete` event, in the same transaction as the user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services import outbox
from services.config import Settings
from services.db import store, tables
from services.db.store import Connection
from services.domain import peers
from services.domain.errors import Conflict, Invalid, NotFound
from services.domain.passwords import check_password, hash_password
from services.payloads.user import user_payload


@dataclass(frozen=True)
class UserFields:
    """What an API caller may set on a user."""

    identifier: str
    email: str = ""
    is_admin: bool = False
    firstname: str = ""
    lastname: str = ""
    phone: str = ""
    department: str = ""
    notes: str = ""
    password: str = ""
    api_token: str = ""
    disabled: bool = False
    disabled_reason: str = ""
    locked: bool = False
    locked_reason: str = ""


def _profile(fields: UserFields) -> dict[str, Any]:
    """The columns written as the caller gave them (no time, hash or reason derived)."""
    return {
        "email": fields.email,
        "is_admin": fields.is_admin,
        "firstname": fields.firstname,
        "lastname": fields.lastname,
        "phone": fields.phone,
        "department": fields.department,
        "notes": fields.notes,
    }


def get(conn: Connection, identifier: str) -> dict[str, Any] | None:
    """The user with its `peer_count`, or None."""
    return store.row(conn, "user_with_peer_count", {"identifier": identifier})


def get_all(conn: Connection) -> list[dict[str, Any]]:
    return store.rows(conn, "users_with_peer_count")


def refuse_case_twin(conn: Connection, settings: Settings, identifier: str) -> None:
    """An e-mail identifier that differs from the admin's or an existing user's only in case
    names the same person: Conflict, naming the field. For the REST API's input; a mirror of
    what wg-portal stored takes what it finds."""
    if "@" not in identifier:
        return
    if identifier.lower() == settings.core.admin_user.lower() != identifier:
        raise Conflict(f"Identifier: {identifier!r} is the admin {settings.core.admin_user!r}")
    row = store.row(conn, "user_case_twin", {"identifier": identifier})
    if row is not None:
        raise Conflict(
            f"Identifier: {identifier!r} is user {row['identifier']!r} (e-mail addresses compare "
            "case-insensitively)"
        )


def create(conn: Connection, settings: Settings, fields: UserFields, actor: str) -> dict[str, Any]:
    """Insert the user and record `create`; the caller owns the transaction."""
    now = datetime.now(UTC)
    row = store.row(
        conn,
        "insert_user",
        {
            "identifier": fields.identifier,
            **_profile(fields),
            "auth_sources": store.as_json([{"Source": "db", "ProviderName": ""}]),
            "password_hash": hash_password(fields.password) if fields.password else "",
            "api_token": fields.api_token,
            "api_token_created": now if fields.api_token else None,
            "disabled": now if fields.disabled else None,
            "disabled_reason": fields.disabled_reason if fields.disabled else "",
            "locked": now if fields.locked else None,
            "locked_reason": fields.locked_reason if fields.locked else "",
            "actor": actor,
            "now": now,
        },
    )
    if row is None:
        raise Conflict(f"user {fields.identifier} already exists")
    record(conn, settings, "create", row)
    return row


def record(conn: Connection, settings: Settings, event: str, row: dict[str, Any]) -> None:
    outbox.record(
        conn, settings.webhook.endpoints, event, "user", row["identifier"], user_payload(row)
    )


def _since(now: datetime, wanted: bool, current: datetime | None) -> datetime | None:
    """A disabled/locked time: kept while the flag stays on, set when it turns on."""
    return (current or now) if wanted else None


def update(
    conn: Connection, settings: Settings, identifier: str, fields: UserFields, actor: str
) -> dict[str, Any]:
    """Replace the user's fields; an empty Password or ApiToken keeps the current one.

    No change, no write, no event. Disabling or enabling the user carries over to its peers.
    """
    if fields.identifier != identifier:
        raise Invalid("Identifier: must be the user id of the path (users cannot be renamed)")
    existing = tables.get(conn, "users", identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"user {identifier} not found")
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        **_profile(fields),
        "disabled": _since(now, fields.disabled, existing["disabled"]),
        "disabled_reason": fields.disabled_reason if fields.disabled else "",
        "locked": _since(now, fields.locked, existing["locked"]),
        "locked_reason": fields.locked_reason if fields.locked else "",
    }
    if fields.password and not check_password(fields.password, existing["password_hash"]):
        values["password_hash"] = hash_password(fields.password)
    if fields.api_token and fields.api_token != existing["api_token"]:
        values.update(api_token=fields.api_token, api_token_created=now)
    if not tables.changed(existing, values):
        return existing
    values.update(updated_by=actor, updated_at=now)
    row = tables.update(conn, "users", identifier, values)
    record(conn, settings, "update", row)
    if row["disabled"] is not None and existing["disabled"] is None:
        peers.disable_for_user(conn, settings, identifier, row["disabled"], actor)
    elif row["disabled"] is None and existing["disabled"] is not None:
        peers.enable_for_user(conn, settings, identifier, actor)
    return row


def delete(conn: Connection, settings: Settings, identifier: str, actor: str) -> None:
    """Delete the user and record `delete`, then release its peers (an event each)."""
    existing = tables.get(conn, "users", identifier, "FOR UPDATE")
    if existing is None:
        raise NotFound(f"user {identifier} not found")
    tables.delete(conn, "users", identifier)
    record(conn, settings, "delete", existing)
    peers.release_user(conn, settings, identifier, actor)
