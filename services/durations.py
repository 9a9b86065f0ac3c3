"""Go-style durations (`10s`, `1m30s`, `125ms`, `1h`), the format wg-portal's config uses."""

from __future__ import annotations

import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,  # not Go, but operators write retention as 30d; accepted on top of Go's units
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`; raises ValueError with a message fit for a config error."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration (like 10s, 1m30s, 250ms)")
    if isinstance(text, int | float):
        if text == 0:
            return 0.0
        raise ValueError(f"{text!r} has no unit (write it like 10s, 1m30s, 250ms)")
    value = text.strip()
    if value in ("0", "+0"):
        return 0.0
    if value.startswith("-"):
        raise ValueError(f"{text!r} is negative")
    rest = value.lstrip("+")
    total = 0.0
    pos = 0
    while pos < len(rest):
        match = _PART.match(rest, pos)
        if match is None:
            raise ValueError(f"{text!r} is not a duration (like 10s, 1m30s, 250ms)")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise ValueError(f"{text!r} is not a duration (like 10s, 1m30s, 250ms)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest Go-style text for `seconds` (for messages and `endpoints list`)."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    if whole or not parts:
        parts.append(f"{whole}s")
    return "".join(parts)
