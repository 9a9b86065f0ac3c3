"""What an operator changes from the console; each needs the session's CSRF token and is logged
with who did it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services import endpoint_health, redrive
from services.api.state import state_of
from services.console import listing
from services.console.web import (
    PREFIX,
    ConsoleRoute,
    Operator,
    checked,
    current_operator,
    form_fields,
    log,
    redirect,
    render,
)

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Signed = Annotated[Operator, Depends(current_operator)]
Form = Annotated[dict[str, str], Depends(form_fields)]


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, delivery_id: int, operator: Signed, form: Form) -> Response:
    checked(operator, form)
    with state_of(request).pool.connection() as conn:
        before = redrive.redeliver(conn, [delivery_id])
    log.info(
        "console: %s re-drove delivery %d (was %s)",
        operator.identifier,
        delivery_id,
        before[delivery_id],
    )
    return redirect(f"{PREFIX}/deliveries/{delivery_id}?notice=redriven")


@router.post("/redrive")
def redrive_filtered(request: Request, operator: Signed, form: Form) -> Response:
    """Bulk re-drive of what the filter matches (after the confirmation page)."""
    checked(operator, form)
    filter_ = listing.Filter.from_params(form)
    with state_of(request).pool.connection() as conn:
        count = listing.redrive_all(conn, filter_)
    log.info(
        "console: %s re-drove %d deliveries matching %s",
        operator.identifier,
        count,
        filter_.query_string() or "everything",
    )
    return render(request, "redriven.html", flt=filter_, count=count)


@router.post("/endpoints/{name}/disable")
def disable(request: Request, name: str, operator: Signed, form: Form) -> Response:
    checked(operator, form)
    state = state_of(request)
    with state.pool.connection() as conn:
        changed = endpoint_health.disable(
            conn, state.settings, name, f"disabled by {operator.identifier} in the console"
        )
    log.info(
        "console: %s disabled endpoint %s (it was %s)",
        operator.identifier,
        name,
        "enabled" if changed else "disabled already",
    )
    return redirect(f"{PREFIX}/?notice=disabled")


@router.post("/endpoints/{name}/enable")
def enable(request: Request, name: str, operator: Signed, form: Form) -> Response:
    checked(operator, form)
    state = state_of(request)
    with state.pool.connection() as conn:
        changed = endpoint_health.enable(conn, state.settings, name)
    log.info(
        "console: %s enabled endpoint %s (it was %s)",
        operator.identifier,
        name,
        "disabled" if changed else "enabled already",
    )
    return redirect(f"{PREFIX}/?notice=enabled")
