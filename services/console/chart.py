"""The overview's chart as inline SVG, drawn on the server: no script, no asset, no CDN.

Pure: counts in, markup out (no clock, no I/O), so its rules are checked by properties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import escape

WIDTH = 720
HEIGHT = 180
_PAD_LEFT = 44
_PAD_BOTTOM = 18
_PAD_TOP = 8


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    counts: Sequence[int]


def per_minute(rows: Sequence[tuple[int, int, int]], minutes: int) -> tuple[list[int], list[int]]:
    """Rows of (minute index, delivered, failed) -> two dense lists of `minutes` counts."""
    delivered = [0] * minutes
    failed = [0] * minutes
    for minute, ok, bad in rows:
        if 0 <= minute < minutes:
            delivered[minute] += ok
            failed[minute] += bad
    return delivered, failed


def points(counts: Sequence[int], top: int) -> list[tuple[float, float]]:
    """Each count's (x, y) inside the plot area; the highest count `top` touches its top."""
    plot_w = WIDTH - _PAD_LEFT
    plot_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    step = plot_w / max(len(counts) - 1, 1)
    scale = plot_h / max(top, 1)
    return [
        (round(_PAD_LEFT + i * step, 1), round(_PAD_TOP + plot_h - min(c, top) * scale, 1))
        for i, c in enumerate(counts)
    ]


def svg(series: Sequence[Series], title: str, span_label: str) -> str:
    """An SVG line chart of `series` (equal lengths, oldest first) with its scale and legend."""
    top = max((max(s.counts, default=0) for s in series), default=0)
    base = HEIGHT - _PAD_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' role="img" aria-label="{_escape(title)}">',
        f"<title>{_escape(title)}</title>",
        f'<line class="axis" x1="{_PAD_LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/>',
        f'<line class="axis" x1="{_PAD_LEFT}" y1="{_PAD_TOP}" x2="{_PAD_LEFT}" y2="{base}"/>',
        f'<text class="label" x="{_PAD_LEFT - 4}" y="{_PAD_TOP + 10}"'
        f' text-anchor="end">{top}</text>',
        f'<text class="label" x="{_PAD_LEFT - 4}" y="{base}" text-anchor="end">0</text>',
        f'<text class="label" x="{_PAD_LEFT}" y="{HEIGHT - 4}">{_escape(span_label)}</text>',
        f'<text class="label" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">now</text>',
    ]
    for index, line in enumerate(series):
        coords = " ".join(f"{x},{y}" for x, y in points(line.counts, top))
        parts.append(f'<polyline class="{line.css_class}" fill="none" points="{coords}"/>')
        total = sum(line.counts)
        parts.append(
            f'<text class="legend {line.css_class}" x="{_PAD_LEFT + 8 + 200 * index}"'
            f' y="{_PAD_TOP + 12}">{_escape(line.name)}: {total} in all</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _escape(text: str) -> str:
    return str(escape(text))
