"""A cap on request bodies: anything larger is a 413 before it is read into memory.

wg-portal's largest legitimate body (a peer with every list at its 256-item limit) is a few
dozen KiB; 1 MiB leaves room and keeps one client from making the API buffer gigabytes. A
declared `Content-Length` over the cap is refused without reading a byte; a chunked body is
counted as it arrives and refused when it crosses the cap.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import error_response

MAX_BODY_BYTES = 1024 * 1024


def _too_large(limit: int) -> str:
    return f"request body larger than {limit // 1024} KiB"


class BodyLimit:
    """Pure ASGI middleware (no buffering): checks the header, then counts the stream."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await error_response(400, "Content-Length: not a number")(scope, receive, send)
            return
        if declared is not None and declared > self.limit:
            await error_response(413, _too_large(self.limit))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # raised inside the route's body read: FastAPI passes an HTTPException
                    # through, and the app's handler answers it as {"Code","Message"}
                    raise HTTPException(413, _too_large(self.limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def install(app: FastAPI) -> None:
    app.add_middleware(BodyLimit)
