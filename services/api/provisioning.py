"""/api/v1/provisioning/...: wg-portal's provisioning routes.

A user's own peers, their wg-quick configuration (text or QR code) and a new peer with generated
keys. Admins may act for anyone; a non-admin (when `advanced.api_admin_only` is off) reads its own
records. Creating peers is for admins: self-provisioning is off, wg-portal's default.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from services.api.auth import Principal, authenticate
from services.api.errors import ApiError
from services.api.models_errors import ERROR_RESPONSES
from services.api.models_peer import Peer, peer_out
from services.api.models_provisioning import (
    ProvisioningRequest,
    UserInformation,
    user_information_out,
)
from services.api.paths import path_id
from services.api.state import ApiState, state_of
from services.db import tables
from services.db.queries import query
from services.domain import peer_config, peers
from services.domain.errors import Forbidden

router = APIRouter(prefix="/api/v1/provisioning", tags=["Provisioning"], responses=ERROR_RESPONSES)
Anyone = Annotated[Principal, Depends(authenticate)]


def _own(principal: Principal, owner: str) -> None:
    if not principal.is_admin and principal.identifier != owner:
        raise ApiError(403, "no permission: a user may only access its own records")


def _peer(state: ApiState, principal: Principal, peer_id: str) -> dict[str, Any]:
    path_id(peer_id.strip(), "peer")
    with state.pool.connection() as conn:
        row = peers.get(conn, peer_id.strip())
    if row is None:
        raise ApiError(404, f"peer {peer_id} not found")
    _own(principal, row["user_identifier"])
    return row


@router.get("/data/user-info", responses={200: {"model": UserInformation}})
def user_info(
    request: Request,
    principal: Anyone,
    UserId: Annotated[str, Query()] = "",  # wg-portal's parameter names
    Email: Annotated[str, Query()] = "",
) -> dict[str, Any]:
    state = state_of(request)
    user_id, email = UserId.strip(), Email.strip()
    if "\x00" in user_id + email:
        raise ApiError(404, "user not found")
    with state.pool.connection() as conn:
        if not user_id and email:
            found = conn.execute(query("user_by_email"), {"email": email}).fetchone()
            if found is None:
                raise ApiError(404, f"no user with e-mail {email}")
            user_id = found[0]
        user_id = user_id or principal.identifier
        if user_id != state.settings.core.admin_user and tables.get(conn, "users", user_id) is None:
            raise ApiError(404, f"user {user_id} not found")
        _own(principal, user_id)
        return user_information_out(user_id, peers.for_user(conn, user_id))


@router.get(
    "/data/peer-config",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def peer_config_text(
    request: Request,
    principal: Anyone,
    PeerId: Annotated[str, Query()],
) -> PlainTextResponse:
    row = _peer(state_of(request), principal, PeerId)
    return PlainTextResponse(peer_config.wg_quick(row))


@router.get(
    "/data/peer-qr",
    response_class=Response,
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}},
)
def peer_config_qr(
    request: Request,
    principal: Anyone,
    PeerId: Annotated[str, Query()],
) -> Response:
    row = _peer(state_of(request), principal, PeerId)
    return Response(peer_config.qr_png(peer_config.wg_quick(row)), media_type="image/png")


@router.post("/new-peer", responses={200: {"model": Peer}})
def new_peer(body: ProvisioningRequest, request: Request, principal: Anyone) -> dict[str, Any]:
    state = state_of(request)
    owner = body.UserIdentifier or principal.identifier
    _own(principal, owner)
    with state.pool.connection() as conn, conn.transaction():
        if not principal.is_admin:
            raise Forbidden("self-provisioning is not enabled: only admins create peers")
        prepared = peers.prepare(
            conn, state.settings, body.InterfaceIdentifier, principal.identifier
        )
        fields = peers.fields_of(prepared)
        key = body.PublicKey or fields.identifier
        fields = dataclasses.replace(
            fields,
            identifier=key,
            user_identifier=owner,
            # Given a public key, the private key stays with the peer's owner.
            private_key="" if body.PublicKey else fields.private_key,
            preshared_key=body.PresharedKey or fields.preshared_key,
            display_name=body.DisplayName or f"API Peer {key[:8]}",
        )
        row = peers.create(conn, state.settings, fields, principal.identifier)
    return peer_out(row)
