"""/api/v1/interface/...: wg-portal's interface routes, all of them for admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from services.api.auth import Principal, require_admin
from services.api.errors import ApiError
from services.api.models_errors import ERROR_RESPONSES
from services.api.models_interface import Interface, interface_out
from services.api.paths import path_id
from services.api.state import state_of
from services.domain import interfaces

router = APIRouter(
    prefix="/api/v1/interface",
    tags=["Interfaces"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(require_admin)],
)
_INTERFACE: dict[int | str, dict[str, Any]] = {200: {"model": Interface}}
_INTERFACES: dict[int | str, dict[str, Any]] = {200: {"model": list[Interface]}}
Admin = Annotated[Principal, Depends(require_admin)]


@router.get("/all", responses=_INTERFACES)
def all_interfaces(request: Request) -> list[dict[str, Any]]:
    with state_of(request).pool.connection() as conn:
        return [interface_out(row) for row in interfaces.get_all(conn)]


@router.get("/by-id/{id:path}", responses=_INTERFACE)
def interface_by_id(id: str, request: Request) -> dict[str, Any]:
    path_id(id, "interface")
    with state_of(request).pool.connection() as conn:
        row = interfaces.get(conn, id)
    if row is None:
        raise ApiError(404, f"interface {id} not found")
    return interface_out(row)


@router.get("/prepare", responses=_INTERFACE)
def prepare_interface(request: Request, principal: Admin) -> dict[str, Any]:
    state = state_of(request)
    with state.pool.connection() as conn:
        return interface_out(interfaces.prepare(conn, state.settings, principal.identifier))


@router.post("/new", responses=_INTERFACE)
def create_interface(body: Interface, request: Request, principal: Admin) -> dict[str, Any]:
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        row = interfaces.create(conn, state.settings, body.fields(), principal.identifier)
    return interface_out(row)


@router.put("/by-id/{id:path}", responses=_INTERFACE)
def update_interface(
    id: str, body: Interface, request: Request, principal: Admin
) -> dict[str, Any]:
    path_id(id, "interface")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        interfaces.update(conn, state.settings, id, body.fields(), principal.identifier)
        row = interfaces.get(conn, id)
    assert row is not None
    return interface_out(row)


@router.delete("/by-id/{id:path}", status_code=204, response_class=Response)
def delete_interface(id: str, request: Request) -> Response:
    path_id(id, "interface")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        interfaces.delete(conn, state.settings, id)
    return Response(status_code=204)
