"""The console's pages: overview (and its refreshable fragment), deliveries, one delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services import redrive
from services.api.state import state_of
from services.config import Settings
from services.console import listing, overview, redaction, sent
from services.console.web import PREFIX, ConsoleRoute, Operator, current_operator, redirect, render
from services.db.queries import query
from services.endpoints import live

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Signed = Annotated[Operator, Depends(current_operator)]

NOTICES = {
    "redriven": "Re-driven: the delivery is pending again, due now.",
    "disabled": "Endpoint disabled: its deliveries wait until it is enabled again.",
    "enabled": "Endpoint enabled: its waiting deliveries go out now.",
}


@router.get("")
def root() -> Response:
    return redirect(f"{PREFIX}/")


@router.get("/")
def overview_page(request: Request, _: Signed, notice: str = "") -> Response:
    state = state_of(request)
    with state.pool.connection() as conn:
        built = overview.build(conn, state.settings)
    return render(request, "overview.html", overview=built, notice=NOTICES.get(notice, ""))


@router.get("/overview/fragment")
def overview_fragment(request: Request, _: Signed) -> Response:
    """The overview's live part alone, for the page's script to swap in without a reload."""
    state = state_of(request)
    with state.pool.connection() as conn:
        built = overview.build(conn, state.settings)
    return render(request, "_overview.html", overview=built)


@router.get("/deliveries")
def deliveries_page(request: Request, _: Signed, before: int | None = None) -> Response:
    state = state_of(request)
    filter_ = listing.Filter.from_params(request.query_params)
    with state.pool.connection() as conn:
        found = listing.page(conn, filter_, before)
        masked = redaction.known_secrets(state.settings, live.current(conn, state.settings))
    return render(
        request,
        "deliveries.html",
        redact=lambda text: redaction.redact(text or "", masked),
        flt=filter_,
        page=found,
        first_page=before is None,
        endpoints=_endpoint_names(state.settings),
        statuses=redrive.STATUSES,
        events=listing.EVENTS,
        entities=listing.ENTITIES,
    )


@router.get("/deliveries/{delivery_id}")
def delivery_page(request: Request, delivery_id: int, _: Signed, notice: str = "") -> Response:
    state = state_of(request)
    with state.pool.connection() as conn:
        detail = redrive.get_delivery(conn, delivery_id)
        row = conn.execute(query("console_event_body"), {"id": delivery_id}).fetchone()
        masked = redaction.known_secrets(state.settings, live.current(conn, state.settings))
    body = row[0] if row is not None else ""
    settings = state.settings
    endpoint = settings.webhook.endpoint(detail.delivery.endpoint)
    return render(
        request,
        "delivery.html",
        d=detail.delivery,
        attempts=detail.attempts,
        envelope=redaction.redact(sent.pretty_envelope(body), masked),
        headers=[
            (n, redaction.redact(v, masked))
            for n, v in sent.sent_headers(endpoint, detail.delivery.webhook_id)
        ],
        redact=lambda text: redaction.redact(text or "", masked),
        flower_url=flower_tasks_url(settings, request),
        notice=NOTICES.get(notice, ""),
    )


@router.get("/redrive")
def confirm_redrive(request: Request, _: Signed) -> Response:
    """The second page of a bulk re-drive: what the filter matches now, and a button to confirm."""
    state = state_of(request)
    filter_ = listing.Filter.from_params(request.query_params)
    with state.pool.connection() as conn:
        count = listing.count(conn, filter_)
    return render(request, "confirm_redrive.html", flt=filter_, count=count)


def flower_tasks_url(settings: Settings, request: Request) -> str:
    """Flower's task list filtered to `webhooks.deliver` (where this delivery's tasks are)."""
    host = settings.flower.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104  (bound to every address: use the one we were reached on)
        host = request.url.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.flower.port}/tasks?name=webhooks.deliver"


def _endpoint_names(settings: Settings) -> list[str]:
    return [e.name for e in settings.webhook.endpoints]
