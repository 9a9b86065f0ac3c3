"""One leased delivery's POST: its headers and signature, the request, what came of it.
`send_one` runs on the process's event loop (`workers.http`); `workers.drain` keeps a window
of them in flight."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from services import tracing
from services.config import Endpoint
from services.endpoints.rotation import active_secrets
from services.masking import endpoint_secrets, mask_secrets
from services.version import VERSION
from workers import http
from workers.outcome import Outcome, Result, classify, retry_after_of
from workers.signing import signature_header

USER_AGENT = f"wg-webhooks/{VERSION}"


@dataclass(frozen=True)
class Job:
    """One leased delivery, ready to send."""

    delivery_id: int
    webhook_id: str  # the event's: the same on every attempt, for every endpoint
    attempts: int  # attempts made before this one
    body: str
    event_created_at: datetime
    trace_context: str | None = None  # the change's traceparent (services.tracing)


@dataclass(frozen=True)
class Sent:
    job: Job
    result: Result
    outcome: Outcome
    attempted_at: datetime


def headers_for(endpoint: Endpoint, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
    }
    if endpoint.authentication:
        headers["Authorization"] = endpoint.authentication
    signature = signature_header(
        active_secrets(endpoint, timestamp), endpoint.signing_key, msg_id, timestamp, body
    )
    if signature:
        headers["webhook-signature"] = signature
    # names the service sends itself were refused when the endpoint was configured
    headers.update(endpoint.headers)
    return headers


async def send_one(endpoint: Endpoint, job: Job, block_private: bool) -> Sent:
    """One POST, as a span of the change's trace: the endpoint's name, never its URL (which may
    hold credentials) nor the headers."""
    attributes = {
        "wg_webhooks.endpoint": endpoint.name,
        "wg_webhooks.delivery_id": job.delivery_id,
        "wg_webhooks.attempt": job.attempts + 1,
        "http.request.method": "POST",
    }
    with tracing.span(
        "webhook POST", attributes, kind="CLIENT", caused_by=job.trace_context
    ) as span:
        sent = await _post(endpoint, job, block_private)
        if span is not None:
            if sent.result.status_code is not None:
                span.set_attribute("http.response.status_code", sent.result.status_code)
            span.set_attribute("wg_webhooks.duration_ms", sent.result.duration_ms)
            span.set_attribute("wg_webhooks.outcome", sent.outcome.status)
    return sent


async def _post(endpoint: Endpoint, job: Job, block_private: bool) -> Sent:
    body = job.body.encode()
    attempted_at = datetime.now(UTC)
    headers = headers_for(endpoint, job.webhook_id, body, int(time.time()))
    if endpoint.propagate_trace and (traceparent := tracing.current_traceparent()):
        headers["traceparent"] = traceparent
    response = await http.post_async(
        endpoint.url, body, headers, endpoint.timeout, block_private=block_private
    )
    retry_after = (
        retry_after_of(response.status_code, response.headers)
        if response.status_code is not None
        else None
    )
    result = Result(
        status_code=response.status_code,
        error=response.error,
        duration_ms=response.duration_ms,
        # a receiver may echo what we sent (Authorization, URL token): never store our secrets
        response_body=mask_secrets(response.body, endpoint_secrets(endpoint)),
        retry_after=retry_after,
    )
    return Sent(
        job, result, classify(result, job.attempts + 1, endpoint.retry_schedule), attempted_at
    )
