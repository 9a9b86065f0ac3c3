"""How the operator commands print: plain-text tables, clipped cells, relative times, JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def clip(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def relative(when: datetime | None, now: datetime | None = None) -> str:
    """`in 4m30s`, `2h5m ago`, `6d ago`, `now`, or `-` (the two largest units at most)."""
    if when is None:
        return "-"
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if abs(seconds) < 1:
        return "now"
    text = _span(int(abs(seconds)))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _span(seconds: int) -> str:
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (parts and len(parts) < 2):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return "".join(p for p in parts if not p.startswith("0") or p == parts[0])


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
