"""HTTP Basic auth as wg-portal's API v1: user identifier + API token.

The admin from config (`core.admin_user` / `core.admin_api_token`) always works when a token is
set; users in the database work with their own API token. Disabled or locked users are refused
(wg-portal forgets this). With `advanced.api_admin_only` (the default) only admins get in.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from fastapi import Request

from services.api.errors import ApiError
from services.api.state import ApiState, state_of
from services.db.queries import query

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="wg-portal"'}


@dataclass(frozen=True)
class Principal:
    identifier: str
    is_admin: bool


def _credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise ApiError(401, "missing credentials", _CHALLENGE)
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "malformed credentials", _CHALLENGE) from None
    user, sep, token = decoded.partition(":")
    if not sep:
        raise ApiError(401, "malformed credentials", _CHALLENGE)
    return user, token


def authenticate(request: Request) -> Principal:
    """The caller, or 401/403; 429 while the failed-auth brake holds (services/api/brake.py)."""
    user, token = _credentials(request)
    return braked_check(request, user, token)


def braked_check(request: Request, user: str, token: str) -> Principal:
    """`check_credentials` behind the failed-auth brake, for every way in that takes a token
    (the API's Basic auth, the console's sign-in form): 429 while the brake holds."""
    state = state_of(request)
    client = request.client.host if request.client else ""
    wait = state.brake.retry_after(client, user)
    if wait is not None:
        raise ApiError(429, f"too many failed logins: retry in {wait}s", {"Retry-After": str(wait)})
    try:
        return check_credentials(state, user, token)
    except ApiError as exc:
        if exc.code == 401:
            state.brake.failed(client, user)
        raise


def check_credentials(state: ApiState, user: str, token: str) -> Principal:
    """User identifier + API token -> who it is (ApiError 401/403 otherwise). The console's
    sign-in form asks the same question as the API's Basic auth, so both ask it here."""
    core = state.settings.core
    if (
        core.admin_api_token
        and hmac.compare_digest(user.encode(), core.admin_user.encode())
        and hmac.compare_digest(token.encode(), core.admin_api_token.encode())
    ):
        return Principal(core.admin_user, True)
    if "\x00" in user:  # no user is named so, and Postgres text cannot even hold it
        raise ApiError(401, "wrong credentials", _CHALLENGE)
    with state.pool.connection() as conn:
        row = conn.execute(query("user_credentials"), {"identifier": user}).fetchone()
    if row is None or not row[0] or not hmac.compare_digest(row[0].encode(), token.encode()):
        raise ApiError(401, "wrong credentials", _CHALLENGE)
    if row[2] or row[3]:
        raise ApiError(403, "user is disabled or locked")
    principal = Principal(user, bool(row[1]))
    if state.settings.advanced.api_admin_only and not principal.is_admin:
        raise ApiError(403, "the API is for admins only (advanced.api_admin_only)")
    return principal


def require_admin(request: Request) -> Principal:
    principal = authenticate(request)
    if not principal.is_admin:
        raise ApiError(403, "admin rights required")
    return principal
