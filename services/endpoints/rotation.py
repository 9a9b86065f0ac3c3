"""Signing-secret rotation: the pure rule (no I/O, no clock: `now` is given).

A new secret signs from now on; the one it replaces keeps signing beside it until `now + grace`,
and so do earlier ones still inside their own grace. At most MAX_PREVIOUS old secrets are kept
(the newest); an expired one is dropped, it never signs again.
"""

from __future__ import annotations

from collections.abc import Sequence

from services import config_values as v
from services.config import Endpoint

MAX_PREVIOUS = 5
# How long a replaced secret keeps signing (`--grace`, "Grace"): 0 (stop at once) to 30 days.
GRACE = v.duration(0, 30 * v.DAY)
DEFAULT_GRACE = "24h"

Previous = tuple[tuple[str, float], ...]  # (whsec_..., valid until in Unix seconds), newest first


def rotate(
    current: str, previous: Sequence[tuple[str, float]], now: float, grace: float
) -> Previous:
    """The previous secrets after `current` is replaced at `now`."""
    kept = [(secret, until) for secret, until in previous if until > now]
    if current and now + grace > now:  # (a grace too small to move the clock is none)
        kept.insert(0, (current, now + grace))
    return tuple(kept[:MAX_PREVIOUS])


def active_secrets(endpoint: Endpoint, now: float) -> list[str]:
    """What signs at `now`: the current secret, then each previous one still in its grace."""
    current = [endpoint.signing_secret] if endpoint.signing_secret else []
    return current + [s for s, until in endpoint.previous_secrets if until > now]
