"""Console sessions, kept server-side in Postgres.

The cookie holds a random token; the table holds only its SHA-256, who signed in, the session's
CSRF token and when it ends (`LIFETIME` after sign-in, whatever the activity). Server-side rather
than a signed cookie: a sign-out ends the session at once on every API replica, and there is no
signing key to generate, share and keep secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from psycopg import Connection

from services.db.queries import query

COOKIE = "wgw_console"
LIFETIME = 8 * 3600.0  # seconds: a working day, then sign in again


@dataclass(frozen=True)
class Session:
    identifier: str
    csrf_token: str

    def csrf_ok(self, sent: str) -> bool:
        return bool(sent) and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(conn: Connection[Any], identifier: str) -> str:
    """A new session for `identifier`; the token for the cookie."""
    token = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute(query("console_session_purge"))
        conn.execute(
            query("console_session_create"),
            {
                "token_hash": _hash(token),
                "identifier": identifier,
                "csrf_token": secrets.token_urlsafe(32),
                "lifetime": LIFETIME,
            },
        )
    return token


def find(conn: Connection[Any], token: str) -> Session | None:
    if not token:
        return None
    row = conn.execute(query("console_session_get"), {"token_hash": _hash(token)}).fetchone()
    return Session(row[0], row[1]) if row is not None else None


def end(conn: Connection[Any], token: str) -> None:
    with conn.transaction():
        conn.execute(query("console_session_delete"), {"token_hash": _hash(token)})
