"""Times as Go's encoding/json writes them: RFC 3339 with up to nanoseconds, the local offset."""

from __future__ import annotations

from datetime import datetime

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_time(value: datetime | None) -> str:
    """`2025-06-26T23:04:33.325216+02:00`; trailing zeros of the fraction dropped, UTC as `Z`.

    A missing value gives Go's zero time, as a non-pointer time.Time field would.
    """
    if value is None:
        return GO_ZERO_TIME
    local = value.astimezone()
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{local.microsecond:06d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = local.utcoffset()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def go_time_or_none(value: datetime | None) -> str | None:
    """For pointer fields that stay in the model as `null` (PeerStatus keeps its nulls)."""
    return None if value is None else go_time(value)
