"""wg-portal's error body `{"Code","Message"}` for every error; domain and driver errors mapped
once."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

log = logging.getLogger("wg_webhooks.api")


class ApiError(Exception):
    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers


# the status code of each kind of domain refusal; a kind not listed answers as its nearest base
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    Invalid: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}


def domain_status(exc: DomainError) -> int:
    """The HTTP status of a domain error: its class's, else its nearest listed base's."""
    return next(_DOMAIN_STATUS[k] for k in type(exc).__mro__ if k in _DOMAIN_STATUS)


def error_response(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"Code": code, "Message": message}, status_code=code, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def describe_validation(exc: RequestValidationError) -> str:
    messages = []
    for err in exc.errors()[:5]:
        field = _field_name(tuple(err.get("loc", ())))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            messages.append(f"{field}: unknown field")
        elif kind == "missing":
            messages.append(f"{field}: is required")
        elif kind == "json_invalid":
            messages.append("body: not valid JSON")
        else:
            text = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            messages.append(f"{field}: {text}")
    return "; ".join(messages) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return error_response(domain_status(exc), exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(psycopg.OperationalError)
    async def _db_down(_: Request, exc: psycopg.OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).strip()[:200])
        return error_response(503, "database unavailable, retry shortly", {"Retry-After": "1"})

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def _db_slow(_: Request, exc: psycopg.errors.QueryCanceled) -> JSONResponse:
        return error_response(503, "database busy, retry shortly", {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal error")
