"""/api/v1/user/...: wg-portal's user routes.

Admins may do everything; a non-admin (when `advanced.api_admin_only` is off) may read only its
own record. Every change and its webhook event commit together.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api import models_fields as f
from services.api.auth import Principal, authenticate, require_admin
from services.api.errors import ApiError
from services.api.models_errors import ERROR_RESPONSES
from services.api.paths import path_id
from services.api.state import state_of
from services.domain import users, validation

router = APIRouter(prefix="/api/v1/user", tags=["Users"], responses=ERROR_RESPONSES)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserIn(BaseModel):
    """wg-portal's models.User as a request body; read-only fields are accepted and ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, str_max_length=4096)

    Identifier: str = Field(min_length=1, max_length=64)
    Email: f.Line = Field("", max_length=256)
    IsAdmin: bool = False
    Firstname: f.Line = Field("", max_length=256)
    Lastname: f.Line = Field("", max_length=256)
    Phone: f.Line = Field("", max_length=64)
    Department: f.Line = Field("", max_length=256)
    Notes: f.Text = ""
    Password: f.Text = ""
    ApiToken: f.Line = ""
    Disabled: bool = False
    DisabledReason: f.Line = Field("", max_length=512)
    Locked: bool = False
    LockedReason: f.Line = Field("", max_length=512)
    # read-only in wg-portal's model: clients echo them back, we ignore them
    ApiEnabled: bool | None = None
    AuthSources: list[str] | None = None
    Source: str | None = None
    ProviderName: str | None = None
    PeerCount: int | None = None

    @field_validator("Identifier")
    @classmethod
    def _identifier(cls, value: str) -> str:
        value = validation.visible(value)
        if value != value.strip():
            raise ValueError("must not have surrounding spaces")
        return value

    @field_validator("Email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = validation.visible(value)
        if value and not _EMAIL.match(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("Password")
    @classmethod
    def _password(cls, value: str) -> str:
        if value and not 16 <= len(value) <= 64:
            raise ValueError("must be 16 to 64 characters")
        return value

    @field_validator("ApiToken")
    @classmethod
    def _token(cls, value: str) -> str:
        if value and not 32 <= len(value) <= 64:
            raise ValueError("must be 32 to 64 characters")
        return value

    def fields(self) -> users.UserFields:
        return users.UserFields(
            identifier=self.Identifier,
            email=self.Email,
            is_admin=self.IsAdmin,
            firstname=self.Firstname,
            lastname=self.Lastname,
            phone=self.Phone,
            department=self.Department,
            notes=self.Notes,
            password=self.Password,
            api_token=self.ApiToken,
            disabled=self.Disabled,
            disabled_reason=self.DisabledReason,
            locked=self.Locked,
            locked_reason=self.LockedReason,
        )


def user_out(row: dict[str, Any], with_token: bool = True) -> dict[str, Any]:
    """wg-portal's models.User as a response (Password is omitempty there: never sent)."""
    return {
        "Identifier": row["identifier"],
        "Email": row["email"],
        "AuthSources": [s.get("Source", "db") for s in row["auth_sources"] or []],
        "IsAdmin": row["is_admin"],
        "Firstname": row["firstname"],
        "Lastname": row["lastname"],
        "Phone": row["phone"],
        "Department": row["department"],
        "Notes": row["notes"],
        "Disabled": row["disabled"] is not None,
        "DisabledReason": row["disabled_reason"],
        "Locked": row["locked"] is not None,
        "LockedReason": row["locked_reason"],
        "ApiToken": row["api_token"] if with_token else "",
        "ApiEnabled": bool(row["api_token"]),
        "PeerCount": row.get("peer_count", 0),
    }


_USER: dict[int | str, dict[str, Any]] = {200: {"model": UserIn}}
_USERS: dict[int | str, dict[str, Any]] = {200: {"model": list[UserIn]}}


@router.get("/all", responses=_USERS)
def all_users(
    request: Request, _: Annotated[Principal, Depends(require_admin)]
) -> list[dict[str, Any]]:
    state = state_of(request)
    with state.pool.connection() as conn:
        return [user_out(row, with_token=False) for row in users.get_all(conn)]


@router.get("/by-id/{id:path}", responses=_USER)
def user_by_id(
    id: str, request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> dict[str, Any]:
    path_id(id, "user")
    if not principal.is_admin and principal.identifier != id:
        raise ApiError(403, "no permission: a user may only read its own record")
    state = state_of(request)
    with state.pool.connection() as conn:
        row = users.get(conn, id)
    if row is None:
        raise ApiError(404, f"user {id} not found")
    return user_out(row)


@router.post("/new", responses=_USER)
def create_user(
    body: UserIn, request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> dict[str, Any]:
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        users.refuse_case_twin(conn, state.settings, body.Identifier)
        row = users.create(conn, state.settings, body.fields(), principal.identifier)
    return user_out(row)


@router.put("/by-id/{id:path}", responses=_USER)
def update_user(
    id: str,
    body: UserIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_admin)],
) -> dict[str, Any]:
    path_id(id, "user")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        users.update(conn, state.settings, id, body.fields(), principal.identifier)
        row = users.get(conn, id)
    assert row is not None
    return user_out(row)


@router.delete("/by-id/{id:path}", status_code=204, response_class=Response)
def delete_user(
    id: str, request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> Response:
    path_id(id, "user")
    state = state_of(request)
    with state.pool.connection() as conn, conn.transaction():
        users.delete(conn, state.settings, id, principal.identifier)
    return Response(status_code=204)
