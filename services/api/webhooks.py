"""/api/v1/webhooks/...: inspect and re-drive deliveries, endpoint health (admins only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services import endpoint_health, redrive
from services.api.auth import require_admin
from services.api.state import state_of
from services.endpoints import live

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["Webhooks"], dependencies=[Depends(require_admin)]
)

Status = Literal["pending", "leased", "delivered", "dead"]


class _DeliveryFields(BaseModel):
    Id: int
    EventId: int = Field(description="the event's number in this database")
    WebhookId: str = Field(
        description="the webhook-id header the receiver sees, on every attempt and for every "
        "endpoint: evt_ + a UUIDv7 (an event recorded before migration 005 keeps its number)"
    )
    Endpoint: str
    Event: str
    Entity: str
    Identifier: str
    Status: Status
    NextAttemptAt: str | None = Field(description="when it is tried next; null unless pending")
    LastStatusCode: int | None
    LastError: str | None
    CreatedAt: str
    DeliveredAt: str | None
    UpdatedAt: str = Field(description="its last state change (what `since` filters on)")
    EndpointRemoved: bool = Field(
        False, description="its endpoint was removed: it waits, unsent, for one of that name"
    )


class Delivery(_DeliveryFields):
    Attempts: int = Field(description="attempts since it was created or last re-driven")


class Attempt(BaseModel):
    Id: int
    AttemptedAt: str
    DurationMs: float
    StatusCode: int | None
    Error: str | None
    Outcome: Literal["delivered", "retry", "dead"]
    ResponseBody: str = Field(description="the first 4 KiB of the receiver's answer")


class DeliveryDetail(_DeliveryFields):
    AttemptCount: int = Field(description="attempts since it was created or last re-driven")
    Attempts: list[Attempt] = Field(description="every recorded attempt, oldest first")


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Since: str = Field(description="a duration like 24h: whose last change is within it")
    Endpoint: str | None = None
    Status: Status = "dead"


class RecoverOut(BaseModel):
    Count: int = Field(description="how many deliveries went back to pending")
    Since: str
    Endpoint: str | None
    Status: Status


class EndpointHealth(BaseModel):
    Name: str
    Url: str | None = Field(description="without user info or query (they may hold secrets)")
    Configured: bool
    Source: Literal["config", "api"] | None = Field(
        description="config: from the config file, read-only here; api: created at runtime; "
        "null: removed (its deliveries wait under its name)"
    )
    Removed: bool
    Timeout: str | None = None
    RetrySchedule: list[str] | None = None
    MaxInFlight: int | None = None
    Authentication: str | None = Field(None, description='"***" when set: never shown')
    Headers: dict[str, str] | None = Field(None, description="names only; values are ***")
    SigningSecrets: int | None = Field(
        None, description="whsec_ secrets signing now (the current one and those in grace)"
    )
    SigningPublicKey: str | None = Field(
        None, description="whpk_ key receivers verify v1a signatures with"
    )
    PropagateTrace: bool | None = None
    Enabled: bool
    Events: list[str]
    Entities: list[str]
    DisabledAt: str | None
    DisabledReason: str
    FailingSince: str | None
    LastSuccessAt: str | None
    LastFailureAt: str | None
    Pending: int
    InFlight: int
    Dead: int


@router.get("/deliveries", response_model=list[Delivery])
def list_deliveries(
    request: Request,
    status: Status | None = None,
    endpoint: str | None = None,
    entity: str | None = None,
    identifier: str | None = None,
    since: Annotated[
        str | None, Query(description="a duration like 24h: last changed within it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=redrive.MAX_LIMIT)] = redrive.DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Deliveries newest first (the same list as `wg-webhooks deliveries list --json`)."""
    seconds = redrive.since_seconds(since, "since") if since is not None else None
    state = state_of(request)
    with state.pool.connection() as conn:
        filters = redrive.Filters(status, endpoint, entity, identifier, seconds, limit)
        found = [d.to_json() for d in redrive.list_deliveries(conn, filters)]
        return live.mark_removed(conn, state.settings, found)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def show_delivery(delivery_id: int, request: Request) -> dict[str, Any]:
    """One delivery with every recorded attempt and its response excerpt."""
    state = state_of(request)
    with state.pool.connection() as conn:
        detail = redrive.get_delivery(conn, delivery_id).to_json()
        return live.mark_removed(conn, state.settings, [detail])[0]


@router.post("/deliveries/{delivery_id}/redeliver", response_model=Delivery)
def redeliver(delivery_id: int, request: Request) -> dict[str, Any]:
    """Back to pending, due now, whatever its status; a delivered one keeps its webhook-id."""
    with state_of(request).pool.connection() as conn, conn.transaction():
        # read back in the same transaction: the answer is the state the re-drive set, not
        # whatever a relay made of it a moment after the commit
        redrive.redeliver(conn, [delivery_id])
        return redrive.get_delivery(conn, delivery_id).delivery.to_json()


@router.post("/recover", response_model=RecoverOut)
def recover(body: RecoverIn, request: Request) -> dict[str, Any]:
    """Re-drive every delivery of `Status` (dead) whose last change is within `Since`."""
    state = state_of(request)
    seconds = redrive.since_seconds(body.Since, "Since")
    with state.pool.connection() as conn:
        if body.Endpoint is not None:
            live.require_known(conn, state.settings, body.Endpoint, "Endpoint: ")
        count = redrive.recover(conn, seconds, body.Endpoint, body.Status)
    return {"Count": count, "Since": body.Since, "Endpoint": body.Endpoint, "Status": body.Status}


@router.get("/endpoints", response_model=list[EndpointHealth])
def list_endpoints(request: Request) -> list[dict[str, Any]]:
    """Every endpoint with its health (failing streak, disabled) and backlog."""
    state = state_of(request)
    with state.pool.connection() as conn:
        return [s.to_json() for s in endpoint_health.list_endpoints(conn, state.settings)]


@router.post("/endpoints/{name}/enable", response_model=EndpointHealth)
def enable_endpoint(name: str, request: Request) -> dict[str, Any]:
    """Enable a disabled endpoint again; its waiting deliveries resume at once."""
    state = state_of(request)
    with state.pool.connection() as conn:
        endpoint_health.enable(conn, state.settings, name)
        return endpoint_health.get_endpoint(conn, state.settings, name).to_json()
