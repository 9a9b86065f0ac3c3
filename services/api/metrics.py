"""/api/v1/metrics/...: wg-portal's metrics routes, read from `peer_status` (the collector's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from psycopg import Connection
from psycopg.rows import dict_row

from services.api.auth import Principal, authenticate, require_admin
from services.api.errors import ApiError
from services.api.models_errors import ERROR_RESPONSES
from services.api.models_metrics import (
    InterfaceMetrics,
    PeerMetrics,
    UserMetrics,
    peer_metrics_out,
    user_metrics_out,
)
from services.api.paths import path_id
from services.api.state import ApiState, state_of
from services.db.queries import query
from services.domain import peers, users

router = APIRouter(prefix="/api/v1/metrics", tags=["Metrics"], responses=ERROR_RESPONSES)
Anyone = Annotated[Principal, Depends(authenticate)]


def _collecting(state: ApiState) -> None:
    if not state.settings.statistics.collect_peer_data:
        raise ApiError(400, "peer statistics are not collected (statistics.collect_peer_data)")


def _statuses(conn: Connection[Any], ids: list[str]) -> dict[str, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return {
            r["peer_identifier"]: r for r in cur.execute(query("status_of_peers"), {"keys": ids})
        }


@router.get("/by-interface/{id:path}", responses={200: {"model": InterfaceMetrics}})
def interface_metrics(
    id: str, request: Request, _: Annotated[Principal, Depends(require_admin)]
) -> dict[str, Any]:
    path_id(id, "interface")
    state = state_of(request)
    _collecting(state)
    with state.pool.connection() as conn:
        if conn.execute(query("interface_exists"), {"identifier": id}).fetchone() is None:
            raise ApiError(404, f"interface {id} not found")
        totals = conn.execute(query("interface_traffic"), {"identifier": id}).fetchone()
    assert totals is not None
    return {
        "InterfaceIdentifier": id,
        "BytesReceived": int(totals[0]),
        "BytesTransmitted": int(totals[1]),
    }


@router.get("/by-user/{id:path}", responses={200: {"model": UserMetrics}})
def user_metrics(id: str, request: Request, principal: Anyone) -> dict[str, Any]:
    path_id(id, "user")
    if not principal.is_admin and principal.identifier != id:
        raise ApiError(403, "no permission: a user may only read its own metrics")
    state = state_of(request)
    _collecting(state)
    with state.pool.connection() as conn:
        if id != state.settings.core.admin_user and users.get(conn, id) is None:
            raise ApiError(404, f"user {id} not found")
        owned = [row["identifier"] for row in peers.for_user(conn, id)]
        statuses = _statuses(conn, owned)
    return user_metrics_out(id, [peer_metrics_out(p, statuses.get(p)) for p in owned])


@router.get("/by-peer/{id:path}", responses={200: {"model": PeerMetrics}})
def peer_metrics(id: str, request: Request, principal: Anyone) -> dict[str, Any]:
    path_id(id, "peer")
    state = state_of(request)
    _collecting(state)
    with state.pool.connection() as conn:
        row = peers.get(conn, id)
        if row is None:
            raise ApiError(404, f"peer {id} not found")
        if not principal.is_admin and principal.identifier != row["user_identifier"]:
            raise ApiError(403, "no permission: a user may only read its own peers' metrics")
        status = _statuses(conn, [id]).get(id)
    return peer_metrics_out(id, status)
