"""The HTTP API: wg-portal's REST API v1, the webhook operations, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg import Connection
from psycopg_pool import ConnectionPool

from services.api import (
    docs,
    endpoints,
    errors,
    health,
    ingest,
    interfaces,
    limits,
    metrics,
    peers,
    prometheus,
    provisioning,
    users,
    webhooks,
)
from services.api.state import ApiState
from services.config import Settings
from services.console import routes as console
from services.db.pool import make_pool
from services.version import VERSION


def create_app(settings: Settings, pool: ConnectionPool[Connection[Any]] | None = None) -> FastAPI:
    """The app; it opens (and closes) its own pool unless one is given."""
    own_pool = pool is None
    the_pool = pool or make_pool(
        settings.database_dsn, min_size=2, max_size=16, name="wg-webhooks-api"
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own_pool:
            the_pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            if own_pool:
                the_pool.close()

    app = FastAPI(
        title="wg-webhooks",
        description="WireGuard Portal's REST API v1 with durable webhooks",
        version=VERSION,
        docs_url=None,  # docs.install serves it without a CDN
        redoc_url=None,  # ReDoc too loads from a CDN (and Google's fonts): not served
        lifespan=lifespan,
    )
    app.state.wg = ApiState(settings, the_pool)
    errors.install(app)
    limits.install(app)
    docs.install(app)
    app.include_router(health.router)
    app.include_router(users.router)
    app.include_router(interfaces.router)
    app.include_router(peers.router)
    app.include_router(metrics.router)
    app.include_router(endpoints.router)
    app.include_router(provisioning.router)
    app.include_router(webhooks.router)
    app.include_router(ingest.router)
    console.install(app)
    prometheus.install(app)
    return app
