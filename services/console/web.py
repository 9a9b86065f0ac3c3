"""How every console page is served: templates, security headers, the signed-in operator, CSRF.

`ConsoleRoute` turns the console's own outcomes into pages in one place: no session -> a
redirect to the sign-in form, not an admin or a refused form -> 403, a domain error (bad filter,
unknown delivery) -> its status with the message, never a JSON body or a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape

from services.api.errors import domain_status
from services.api.state import state_of
from services.console import sessions
from services.db.queries import query
from services.domain.errors import DomainError

log = logging.getLogger("wg_webhooks.console")

PREFIX = "/console"
_MAX_FORM = 64 * 1024

HEADERS = {
    # nothing from anywhere else: the console works on an offline host and runs no foreign code
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=PackageLoader("services.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """No live session: the answer is the sign-in form."""


class Refused(Exception):
    """403 with a page saying why (not an admin, a missing or wrong CSRF token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Operator:
    """The signed-in admin of this request."""

    identifier: str
    session: sessions.Session


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    operator = getattr(request.state, "operator", None)
    html = templates.get_template(template).render(
        request=request, operator=operator, prefix=PREFIX, **context
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def over_tls(request: Request) -> bool:
    """Served over TLS, here or at a proxy in front (X-Forwarded-Proto): the cookie is Secure."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def safe_next(target: str) -> str:
    """A console path to return to after sign-in; anything else (another site) is the overview."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def current_operator(request: Request) -> Operator:
    """The dependency of every page: the session's admin, else SignInRequired / Refused."""
    state = state_of(request)
    token = request.cookies.get(sessions.COOKIE, "")
    with state.pool.connection() as conn:
        session = sessions.find(conn, token)
        if session is None:
            raise SignInRequired
        core = state.settings.core
        if not (core.admin_api_token and session.identifier == core.admin_user):
            row = conn.execute(
                query("console_user_rights"), {"identifier": session.identifier}
            ).fetchone()
            if row is None or not row[0]:
                raise Refused(f"{session.identifier} may no longer use the console (admins only)")
    operator = Operator(session.identifier, session)
    request.state.operator = operator
    return operator


async def form_fields(request: Request) -> dict[str, str]:
    """A url-encoded form body as a dict (the console's forms are that and nothing else)."""
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise Refused("the form is too large")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def checked(operator: Operator, form: dict[str, str]) -> Operator:
    """The operator of a state-changing form, once its CSRF token matches the session's."""
    if not operator.session.csrf_ok(form.get("csrf", "")):
        log.warning(
            "console: refused a form without the right CSRF token (%s)", operator.identifier
        )
        raise Refused("the form's CSRF token is missing or wrong: nothing was changed")
    return operator


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def serve(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if request.method == "GET":
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return redirect(f"{PREFIX}/login?next={quote(target, safe='')}")
                return redirect(f"{PREFIX}/login")
            except Refused as exc:
                return render(request, "message.html", 403, title="Refused", message=exc.message)
            except DomainError as exc:
                status = domain_status(exc)
                return render(request, "message.html", status, title="Error", message=exc.message)

        return serve
