"""Users: every change writes the row and its webhook event in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services import outbox
from services.config import Settings
from services.domain.errors import Conflict
from services.domain.passwords import hash_password
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


def get(conn: Connection[Any], identifier: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM users WHERE identifier = %s", (identifier,)).fetchone()


def create(
    conn: Connection[Any], settings: Settings, fields: UserFields, actor: str
) -> dict[str, Any]:
    """Insert the user and record `create`; the caller owns the transaction."""
    now = datetime.now(UTC)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """
            INSERT INTO users (identifier, email, auth_sources, is_admin, firstname, lastname,
                               phone, department, notes, password_hash, api_token,
                               api_token_created, disabled, disabled_reason, locked,
                               locked_reason, created_by, updated_by, created_at, updated_at)
            VALUES (%(identifier)s, %(email)s, %(auth_sources)s, %(is_admin)s, %(firstname)s,
                    %(lastname)s, %(phone)s, %(department)s, %(notes)s, %(password_hash)s,
                    %(api_token)s, %(api_token_created)s, %(disabled)s, %(disabled_reason)s,
                    %(locked)s, %(locked_reason)s, %(actor)s, %(actor)s, %(now)s, %(now)s)
            ON CONFLICT (identifier) DO NOTHING
            RETURNING *
            """,
            {
                "identifier": fields.identifier,
                "email": fields.email,
                "auth_sources": Jsonb([{"Source": "db", "ProviderName": ""}]),
                "is_admin": fields.is_admin,
                "firstname": fields.firstname,
                "lastname": fields.lastname,
                "phone": fields.phone,
                "department": fields.department,
                "notes": fields.notes,
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
        ).fetchone()
    if row is None:
        raise Conflict(f"user {fields.identifier} already exists")
    outbox.record(
        conn, settings.webhook.endpoints, "create", "user", row["identifier"], user_payload(row)
    )
    return row
