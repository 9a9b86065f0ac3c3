"""/api/v1/peer/...: wg-portal's peer routes.

Admins may do everything; a non-admin (when `advanced.api_admin_only` is off) may read its own
peers. Peer ids are base64 public keys: `/` and `+` arrive raw or percent-encoded, both work.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from services.api.auth import Principal, authenticate, require_admin
from services.api.errors import ApiError
from services.api.models_errors import ERROR_RESPONSES
from services.api.models_peer import Peer, peer_out
from services.api.paths import path_id
from services.api.state import state_of
from services.db.queries import query
from services.domain import peers, users

router = APIRouter(prefix="/api/v1/peer", tags=["Peers"], responses=ERROR_RESPONSES)
_PEER: dict[int | str, dict[str, Any]] = {200: {"model": Peer}}
_PEERS: dict[int | str, dict[str, Any]] = {200: {"model": list[Peer]}}
Admin = Annotated[Principal, Depends(require_admin)]
Anyone = Annotated[Principal, Depends(authenticate)]


def _own(principal: Principal, owner: str) -> None:
    if not principal.is_admin and principal.identifier != owner:
        raise ApiError(403, "no permission: a user may only access its own peers")


@router.get("/by-interface/{id:path}", responses=_PEERS)
def peers_of_interface(id: str, request: Request, _: Admin) -> list[dict[str, Any]]:
    path_id(id, "interface")
    with state_of(request).pool.connection() as conn:
        if conn.execute(query("interface_exists"), {"identifier": id}).fetchone() is None:
            raise ApiError(404, f"interface {id} not found")
        return [peer_out(row) for row in peers.for_interface(conn, id)]


@router.get("/by-user/{id:path}", responses=_PEERS)
def peers_of_user(id: str, request: Request, principal: Anyone) -> list[dict[str, Any]]:
    path_id(id, "user")
    _own(principal, id)
    state = state_of(request)
    with state.pool.connection() as conn:
        if id != state.settings.core.admin_user and users.get(conn, id) is None:
            raise ApiError(404, f"user {id} not found")
        return [peer_out(row) for row in peers.for_user(conn, id)]


@router.get("/by-id/{id:path}", responses=_PEER)
def peer_by_id(id: str, request: Request, principal: Anyone) -> dict[str, Any]:
    path_id(id, "peer")
    with state_of(request).pool.connection() as conn:
        row = peers.get(conn, id)
    if row is None:
        raise ApiError(404, f"peer {id} not found")
    _own(principal, row["user_identifier"])
    return peer_out(row)


@router.get("/prepare/{id:path}", responses=_PEER)
def prepare_peer(id: str, request: Request, principal: Admin) -> dict[str, Any]:
    path_id(id, "interface")
    state = state_of(request)
    with state.pool.connection() as conn:
        return peer_out(peers.prepare(conn, state.settings, id, principal.identifier))


@router.post("/new", responses=_PEER)
def create_peer(body: Peer, request: Request, principal: Admin) -> dict[str, Any]:
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        row = peers.create(conn, state.settings, body.fields(), principal.identifier)
    return peer_out(row)


@router.put("/by-id/{id:path}", responses=_PEER)
def update_peer(id: str, body: Peer, request: Request, principal: Admin) -> dict[str, Any]:
    path_id(id, "peer")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        row = peers.update(conn, state.settings, id, body.fields(id), principal.identifier)
    return peer_out(row)


@router.delete("/by-id/{id:path}", status_code=204, response_class=Response)
def delete_peer(id: str, request: Request, _: Admin) -> Response:
    path_id(id, "peer")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        peers.delete(conn, state.settings, id)
    return Response(status_code=204)
