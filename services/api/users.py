"""/api/v1/user/...: wg-portal's user routes."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.auth import Principal, require_admin
from services.api.state import state_of
from services.domain import users
from services.domain.errors import DomainError
from services.api.errors import ApiError

router = APIRouter(prefix="/api/v1/user", tags=["Users"])

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserIn(BaseModel):
    """wg-portal's models.User as a request body; read-only fields are accepted and ignored."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)

    Identifier: str = Field(min_length=1, max_length=64)
    Email: str = ""
    IsAdmin: bool = False
    Firstname: str = Field("", max_length=256)
    Lastname: str = Field("", max_length=256)
    Phone: str = Field("", max_length=64)
    Department: str = Field("", max_length=256)
    Notes: str = ""
    Password: str = ""
    ApiToken: str = ""
    Disabled: bool = False
    DisabledReason: str = Field("", max_length=512)
    Locked: bool = False
    LockedReason: str = Field("", max_length=512)
    # read-only in wg-portal's model: clients echo them back, we ignore them
    ApiEnabled: bool | None = None
    AuthSources: list[str] | None = None
    PeerCount: int | None = None

    @field_validator("Identifier")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if value != value.strip() or any(ord(c) < 32 for c in value):
            raise ValueError("must not have surrounding spaces or control characters")
        return value

    @field_validator("Email")
    @classmethod
    def _email(cls, value: str) -> str:
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


def user_out(row: dict[str, Any], peer_count: int = 0, with_token: bool = True) -> dict[str, Any]:
    """wg-portal's models.User as a response."""
    return {
        "Identifier": row["identifier"],
        "Email": row["email"],
        "Source": (row["auth_sources"] or [{"Source": "db"}])[0].get("Source", "db"),
        "AuthSources": [s.get("Source", "db") for s in row["auth_sources"] or []],
        "IsAdmin": row["is_admin"],
        "Firstname": row["firstname"],
        "Lastname": row["lastname"],
        "Phone": row["phone"],
        "Department": row["department"],
        "Notes": row["notes"],
        "Password": "",
        "Disabled": row["disabled"] is not None,
        "DisabledReason": row["disabled_reason"],
        "Locked": row["locked"] is not None,
        "LockedReason": row["locked_reason"],
        "ApiToken": row["api_token"] if with_token else "",
        "ApiEnabled": bool(row["api_token"]),
        "PeerCount": peer_count,
    }


@router.post("/new")
def create_user(
    body: UserIn, request: Request, principal: Annotated[Principal, Depends(require_admin)]
) -> dict[str, Any]:
    state = state_of(request)
    try:
        with state.pool.connection() as conn, conn.transaction():
            row = users.create(conn, state.settings, body.fields(), principal.identifier)
    except DomainError as exc:
        raise ApiError(exc.code, exc.message) from None
    return user_out(row)
