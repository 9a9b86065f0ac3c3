"""POST /ingest/wg-portal: wg-portal's webhook target (its `webhook.url`).

Off (404, as if the route did not exist) while `ingest.authentication` is empty. The request's
`Authorization` must equal that value (constant-time compare), else 401. The body is applied in
one transaction (services/bridge/ingest.py) and the answer, 200 (wg-portal counts only 200, 202
and 204 as success), comes after it committed. A body that is not wg-portal's envelope is a 400
naming the problem, and nothing is written.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client.core import CounterMetricFamily, Metric
from starlette.concurrency import run_in_threadpool

from services.api.errors import ApiError
from services.api.state import ApiState, state_of
from services.bridge.ingest import Ingested, ingest
from services.bridge.shapes import Envelope, Malformed, parse_envelope
from services.db.queries import query

router = APIRouter(tags=["Ingest"])


@router.post(
    "/ingest/wg-portal",
    summary="wg-portal's webhooks in",
    responses={
        400: {"description": "not wg-portal's envelope; nothing written"},
        401: {"description": "Authorization is not ingest.authentication"},
        404: {"description": "ingest.authentication is not set: the route is off"},
    },
)
async def ingest_wg_portal(request: Request) -> JSONResponse:
    """Apply one wg-portal webhook and record its event; 200 once committed."""
    state = state_of(request)
    expected = state.settings.ingest.authentication
    if not expected:
        raise ApiError(404, "Not Found")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "Authorization does not match ingest.authentication")
    body = await request.body()
    try:
        envelope = parse_envelope(body)
    except Malformed as error:
        raise ApiError(400, str(error)) from None
    done = await run_in_threadpool(_apply, state, envelope)
    return JSONResponse({"Shape": done.shape or "unrecognised", "Recorded": done.recorded})


def _apply(state: ApiState, envelope: Envelope) -> Ingested:
    with state.pool.connection() as conn, conn.transaction():
        return ingest(conn, state.settings, envelope)


class IngestCollector:
    """wg_webhooks_ingest_unrecognised_total, read from Postgres on each scrape (any replica
    reports the cluster-wide count, like every figure of /metrics)."""

    def __init__(self, state: Callable[[], ApiState]) -> None:
        self._state = state

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        with self._state().pool.connection() as conn:
            rows = conn.execute(query("unrecognised_counts")).fetchall()
        family = CounterMetricFamily(
            "wg_webhooks_ingest_unrecognised",
            "Envelopes from wg-portal whose payload is not a known model, delivered verbatim",
            labels=["entity", "event"],
        )
        for entity, event, count in rows:
            family.add_metric([entity, event], count)
        yield family
