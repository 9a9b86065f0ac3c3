"""Sign-in and sign-out: an admin's identifier and API token, the same check as the API's.

The sign-in form is protected by a double-submit token (a cookie and a hidden field that must
match): a page elsewhere cannot sign a browser in under someone else's name.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.api.auth import braked_check
from services.api.errors import ApiError
from services.api.state import state_of
from services.console import sessions
from services.console.web import (
    PREFIX,
    ConsoleRoute,
    Operator,
    checked,
    current_operator,
    form_fields,
    log,
    over_tls,
    redirect,
    render,
    safe_next,
)

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)

_LOGIN_COOKIE = "wgw_console_login"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=over_tls(request),
    )


def _form(request: Request, status: int = 200, error: str = "", next_: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", status, login_token=token, error=error, next=safe_next(next_)
    )
    _cookie(response, request, _LOGIN_COOKIE, token, 600)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    token = request.cookies.get(sessions.COOKIE, "")
    if token:
        with state_of(request).pool.connection() as conn:
            if sessions.find(conn, token) is not None:  # signed in already
                return redirect(safe_next(next))
    return _form(request, next_=next)


@router.post("/login")
def login(request: Request, form: Annotated[dict[str, str], Depends(form_fields)]) -> Response:
    sent = form.get("login_token", "")
    expected = request.cookies.get(_LOGIN_COOKIE, "")
    if not (sent and expected and hmac.compare_digest(sent.encode(), expected.encode())):
        return _form(request, 403, "The sign-in form expired or came from another site: try again.")
    identifier = form.get("identifier", "").strip()
    state = state_of(request)
    try:
        principal = braked_check(request, identifier, form.get("token", ""))
    except ApiError as exc:
        log.warning("console: refused sign-in for %r (%s)", identifier[:80], exc.message)
        message = "Wrong identifier or API token." if exc.code == 401 else exc.message
        return _form(request, exc.code, message, form.get("next", ""))
    if not principal.is_admin:
        log.warning("console: refused sign-in for %r (not an admin)", identifier[:80])
        return _form(request, 403, "The console is for admins only.", form.get("next", ""))
    with state.pool.connection() as conn:
        token = sessions.start(conn, principal.identifier)
    log.info("console: %s signed in", principal.identifier)
    response = redirect(safe_next(form.get("next", "")))
    _cookie(response, request, sessions.COOKIE, token, int(sessions.LIFETIME))
    response.delete_cookie(_LOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(
    request: Request,
    form: Annotated[dict[str, str], Depends(form_fields)],
    operator: Annotated[Operator, Depends(current_operator)],
) -> Response:
    checked(operator, form)
    with state_of(request).pool.connection() as conn:
        sessions.end(conn, request.cookies.get(sessions.COOKIE, ""))
    log.info("console: %s signed out", operator.identifier)
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(sessions.COOKIE, path=PREFIX)
    return response
