"""/api/v1/webhooks/endpoints/...: endpoints managed at runtime (admins only).

The list (`GET /endpoints`, with health) is in services/api/webhooks.py. Here: create, read,
change, remove, and rotate the signing secret. Config-file endpoints are read-only (409); a
bad field is a 400 naming it (PascalCase, as sent) and stores nothing; secrets are never
shown back, except a rotated secret, once, in the rotation's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services import endpoint_health
from services.api.auth import require_admin
from services.api.state import state_of
from services.api.webhooks import EndpointHealth as Endpoint
from services.domain.errors import Invalid
from services.endpoints import store
from services.endpoints.rotation import DEFAULT_GRACE, GRACE
from services.payloads.gotime import go_time_or_none

router = APIRouter(
    prefix="/api/v1/webhooks/endpoints",
    tags=["Webhook endpoints"],
    dependencies=[Depends(require_admin)],
)


class EndpointIn(BaseModel):
    """The config keys of an `endpoints:` entry in PascalCase (DESIGN §4.2)."""

    model_config = ConfigDict(extra="forbid")

    Name: str | None = Field(None, description="1-63 letters, digits, '.', '_' or '-'")
    Url: str | None = Field(None, description="http:// or https://")
    Authentication: str | None = Field(None, description="sent verbatim as Authorization")
    Events: list[str] | None = Field(None, description="empty = all")
    Entities: list[str] | None = Field(None, description="empty = all")
    Timeout: str | None = Field(None, description='a duration like "10s"')
    RetrySchedule: list[str] | None = Field(None, description='like ["5s", "5m", "30m"]')
    MaxInFlight: int | None = None
    Headers: dict[str, str] | None = Field(
        None, description="extra headers; values may use ${VAR}; names the service sends refused"
    )
    SigningSecret: str | None = Field(None, description="whsec_...: v1 HMAC signatures")
    SigningKey: str | None = Field(None, description="whsk_...: v1a Ed25519 signatures")
    PropagateTrace: bool | None = Field(None, description="send W3C traceparent")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Grace: str = Field(DEFAULT_GRACE, description="how long the replaced secret keeps signing")


class RotateOut(BaseModel):
    SigningSecret: str = Field(description="the new whsec_ secret: shown this once, never again")
    PreviousValidUntil: str | None = Field(
        description="when the replaced secret stops signing; null when there was none"
    )


def _given(body: EndpointIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


@router.post("", response_model=Endpoint)
def add_endpoint(body: EndpointIn, request: Request) -> dict[str, Any]:
    """A new endpoint; events recorded after this answer are delivered to it."""
    state = state_of(request)
    with state.pool.connection() as conn:
        endpoint = store.add(conn, state.settings, _given(body))
        return endpoint_health.get_endpoint(conn, state.settings, endpoint.name).to_json()


@router.get("/{name}", response_model=Endpoint)
def get_endpoint(name: str, request: Request) -> dict[str, Any]:
    """One endpoint (config or api, or removed with deliveries left), secrets masked."""
    state = state_of(request)
    with state.pool.connection() as conn:
        return endpoint_health.get_endpoint(conn, state.settings, name).to_json()


@router.put("/{name}", response_model=Endpoint)
def update_endpoint(name: str, body: EndpointIn, request: Request) -> dict[str, Any]:
    """Change the fields given (null = back to the default); the next attempt uses them."""
    state = state_of(request)
    with state.pool.connection() as conn:
        store.update(conn, state.settings, name, _given(body))
        return endpoint_health.get_endpoint(conn, state.settings, name).to_json()


@router.delete("/{name}", status_code=204, response_class=Response)
def remove_endpoint(name: str, request: Request) -> Response:
    """Remove it: nothing more is POSTed to it; its deliveries are kept and wait for it."""
    state = state_of(request)
    with state.pool.connection() as conn:
        store.remove(conn, state.settings, name)
    return Response(status_code=204)


@router.post("/{name}/rotate-secret", response_model=RotateOut)
def rotate_secret(name: str, request: Request, body: RotateIn | None = None) -> dict[str, Any]:
    """A new whsec_ secret signs from now on; the replaced one signs beside it for Grace."""
    state = state_of(request)
    grace_text = body.Grace if body is not None else DEFAULT_GRACE
    with state.pool.connection() as conn:
        try:
            grace = GRACE(grace_text)
        except ValueError as exc:
            raise Invalid(f"Grace: {exc}") from None
        secret, until = store.rotate_secret(conn, state.settings, name, grace)
    return {
        "SigningSecret": secret,
        "PreviousValidUntil": go_time_or_none(
            datetime.fromtimestamp(until, UTC) if until is not None else None
        ),
    }
