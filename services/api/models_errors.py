"""wg-portal's models.Error, the body of every error answer, as the OpenAPI document shows it.

(Which error becomes which status lives in `services.api.errors`.)
"""

from __future__ import annotations

from pydantic import BaseModel


class Error(BaseModel):
    """wg-portal's error body."""

    Code: int
    Message: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": Error} for code in (400, 401, 403, 404, 409, 500)
}
