"""The baseline of figure 6: a peer create that POSTs its webhook inside the request, as
wg-portal effectively does (its event bus is fire-and-forget, but a slow receiver fills the
bus's buffer of 100 and then every API write waits for it).

The same model, auth, domain code and database as the real API; no outbox delivery rows; then
one POST to the configured endpoint before answering. Run: `python -m
tests.benchmarks.inrequest_api` with WG_WEBHOOKS_CONFIG and DATABASE_URL set.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import requests
import uvicorn
from fastapi import Depends, FastAPI, Request

from services.api import errors
from services.api.auth import Principal, require_admin
from services.api.models_peer import Peer, peer_out
from services.api.state import ApiState, state_of
from services.config import Settings, load_settings
from services.db.pool import make_pool
from services.domain import peers
from services.payloads.envelope import envelope
from services.payloads.peer import peer_payload


def create_app(settings: Settings) -> FastAPI:
    url = settings.webhook.endpoints[0].url
    timeout = settings.webhook.endpoints[0].timeout
    # the domain writes the change (and its event row) but no delivery rows: no outbox relay
    local = dataclasses.replace(
        settings, webhook=dataclasses.replace(settings.webhook, endpoints=())
    )
    pool = make_pool(settings.database_dsn, min_size=2, max_size=16, name="bench-inrequest")
    session = requests.Session()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(lifespan=lifespan)
    app.state.wg = ApiState(local, pool)
    errors.install(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/peer/new")
    def create_peer(
        body: Peer, request: Request, principal: Annotated[Principal, Depends(require_admin)]
    ) -> dict[str, Any]:
        state = state_of(request)
        with state.pool.connection() as conn, conn.transaction():
            row = peers.create(conn, state.settings, body.fields(), principal.identifier)
        sent = envelope("create", "peer", row["identifier"], peer_payload(row, False))
        # fire and forget, but in the request: the answer waits for the receiver
        with contextlib.suppress(requests.RequestException):
            session.post(
                url, data=sent.encode(), headers={"Content-Type": "application/json"},
                timeout=timeout,
            )  # fmt: skip
        return peer_out(row)

    return app


def main() -> None:
    settings = load_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.web.host,
        port=settings.web.port,
        log_level="warning",
        access_log=False,
        limit_concurrency=512,
    )


if __name__ == "__main__":
    main()
