"""wg-portal's models.Error for domain errors: each DomainError becomes `{"Code","Message"}`.

(The mapping of driver and validation errors lives in `services.api.errors`; this is the one place
the route modules turn a domain rule's refusal into its status code.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel

from services.api.errors import ApiError
from services.domain.errors import DomainError


class Error(BaseModel):
    """wg-portal's error body."""

    Code: int
    Message: str


@contextmanager
def domain_errors() -> Iterator[None]:
    """Raise a DomainError from the block as the ApiError of its status code."""
    try:
        yield
    except DomainError as exc:
        raise ApiError(exc.code, exc.message) from None


def path_id(value: str, what: str) -> str:
    """The id of the path: empty is wg-portal's 400 "missing <what> id"; one that cannot be
    stored (a NUL from %00) names nothing, so it is not found rather than a database error."""
    if not value:
        raise ApiError(400, f"missing {what} id")
    if "\x00" in value:
        raise ApiError(404, f"{what} not found")
    return value


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": Error} for code in (400, 401, 403, 404, 409, 500)
}
