"""One attempt's result -> delivered, retry (when) or dead."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workers.backoff import next_delay


@dataclass(frozen=True)
class Result:
    """What one POST gave: a status code or an error, how long it took, the body excerpt."""

    status_code: int | None
    error: str | None
    duration_ms: float
    response_body: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered | retry | dead
    delay: float | None = None  # seconds until the next attempt, for retry


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_of(status_code: int, headers: Mapping[str, str]) -> float | None:
    if status_code in (429, 503):
        return parse_retry_after(headers.get("Retry-After"))
    return None


def classify(result: Result, attempts: int, schedule: Sequence[float]) -> Outcome:
    """`attempts` counts this attempt. 2xx delivered; 410 dead now; else retry until exhausted.

    3xx is not followed and counts as a failure: a webhook URL that moved is a config error
    the operator should see, and following it would replay the body to another host.
    """
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Outcome("delivered")
    if code == 410:
        return Outcome("dead")
    delay = next_delay(attempts, schedule, result.retry_after)
    if delay is None:
        return Outcome("dead")
    return Outcome("retry", delay)
