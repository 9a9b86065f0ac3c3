"""The user model of wg-portal's webhooks (internal/app/webhooks/models/user.go)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.payloads.gotime import go_time


def user_payload(user: dict[str, Any]) -> dict[str, Any]:
    """`user` is a row of the users table (column names as keys). Never password or API token."""
    payload: dict[str, Any] = {
        "CreatedBy": user["created_by"],
        "UpdatedBy": user["updated_by"],
        "CreatedAt": go_time(user["created_at"]),
        "UpdatedAt": go_time(user["updated_at"]),
        "Identifier": user["identifier"],
        "Email": user["email"],
        "AuthSources": [
            {"Source": s.get("Source", "db"), "ProviderName": s.get("ProviderName", "")}
            for s in user["auth_sources"] or []
        ],
        "IsAdmin": user["is_admin"],
    }
    for key, column in (
        ("Firstname", "firstname"),
        ("Lastname", "lastname"),
        ("Phone", "phone"),
        ("Department", "department"),
        ("Notes", "notes"),
    ):
        if user[column]:
            payload[key] = user[column]
    _time_omitempty(payload, "Disabled", user["disabled"])
    if user["disabled_reason"]:
        payload["DisabledReason"] = user["disabled_reason"]
    _time_omitempty(payload, "Locked", user["locked"])
    if user["locked_reason"]:
        payload["LockedReason"] = user["locked_reason"]
    return payload


def _time_omitempty(payload: dict[str, Any], key: str, value: datetime | None) -> None:
    if value is not None:
        payload[key] = go_time(value)
