"""When to try again: the configured schedule, ±20% jitter, and Retry-After within bounds."""

from __future__ import annotations

import random
from collections.abc import Sequence

JITTER = 0.2


def next_delay(
    attempts: int,
    schedule: Sequence[float],
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait after attempt number `attempts` (1-based) failed; None = give up (dead).

    `retry_after` (from a 429/503) is honoured as a floor, capped by the longest step of the
    schedule so a receiver cannot park a delivery for a year.
    """
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    if attempts > len(schedule):
        return None
    step = schedule[attempts - 1]
    jitter = (rng or random).uniform(-JITTER, JITTER)
    delay = max(0.0, step * (1 + jitter))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay
