"""The id in a route's path, checked the way wg-portal answers for it."""

from __future__ import annotations

from services.api.errors import ApiError


def path_id(value: str, what: str) -> str:
    """The id of the path: empty is wg-portal's 400 "missing <what> id"; one that cannot be
    stored (a NUL from %00) names nothing, so it is not found rather than a database error."""
    if not value:
        raise ApiError(400, f"missing {what} id")
    if "\x00" in value:
        raise ApiError(404, f"{what} not found")
    return value
