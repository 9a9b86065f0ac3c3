"""A delivery's request as the worker sends it: the envelope pretty-printed, the headers masked.

The worker builds the headers (workers/delivery.py `headers_for`); `services` may not import
`workers`, so this lists the same names from the endpoint's settings, with the values that are
credentials (`Authorization`, the signatures) masked and the per-attempt timestamp described.
tests/console/test_sent.py holds the two lists of names equal.
"""

from __future__ import annotations

import json

from services.config import Endpoint
from services.console.redaction import MASK

USER_AGENT = "wg-webhooks/0.1.0"


def sent_headers(endpoint: Endpoint | None, webhook_id: str) -> list[tuple[str, str]]:
    """(name, shown value) in the order the worker sets them; [] for an unknown endpoint."""
    if endpoint is None:
        return []
    headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
        ("webhook-id", webhook_id),
        ("webhook-timestamp", "(Unix seconds of each attempt)"),
    ]
    if endpoint.authentication:
        headers.append(("Authorization", MASK))
    if endpoint.signing_secret:
        headers.append(("webhook-signature", f"v1,{MASK}"))
    return headers


def pretty_envelope(body: str) -> str:
    """The stored envelope indented for reading (it is sent byte for byte as stored)."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
