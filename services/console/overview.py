"""The overview: every endpoint's backlog and health, and the last day's attempts per minute.

Built from what the ops API already reads (endpoint_health.list_endpoints, the metrics backlog)
plus two console blocks: deliveries in the last hour and attempts per minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection

from services import endpoint_health
from services.config import Settings
from services.console import chart
from services.db.queries import query

CHART_MINUTES = 24 * 60


@dataclass(frozen=True)
class EndpointRow:
    health: endpoint_health.EndpointState
    delivered_last_hour: int
    oldest_pending_age: float  # seconds since the oldest undelivered one was recorded; 0 = none

    failing_for: float | None  # seconds of nothing but failures; None = not failing


@dataclass(frozen=True)
class Overview:
    endpoints: list[EndpointRow]
    last_hour_svg: str
    last_day_svg: str


def endpoint_rows(conn: Connection[Any], settings: Settings) -> list[EndpointRow]:
    states = endpoint_health.list_endpoints(conn, settings)
    last_hour = dict(conn.execute(query("console_delivered_last_hour")).fetchall())
    ages = {row[0]: float(row[4]) for row in conn.execute(query("metrics_backlog")).fetchall()}
    now = datetime.now(UTC)
    return [
        EndpointRow(
            state,
            int(last_hour.get(state.name, 0)),
            ages.get(state.name, 0.0),
            (now - state.failing_since).total_seconds() if state.failing_since else None,
        )
        for state in states
    ]


def attempts_chart(conn: Connection[Any], minutes: int, span_label: str) -> str:
    """Delivered and failed attempts per minute over the last `minutes`, as SVG."""
    rows = conn.execute(query("console_attempts_per_minute"), {"minutes": minutes}).fetchall()
    delivered, failed = chart.per_minute(rows, minutes)
    return chart.svg(
        [
            chart.Series("delivered", "delivered", delivered),
            chart.Series("failed attempts", "failed", failed),
        ],
        title=f"Attempts per minute since {span_label}",
        span_label=span_label,
    )


def build(conn: Connection[Any], settings: Settings) -> Overview:
    return Overview(
        endpoint_rows(conn, settings),
        attempts_chart(conn, 60, "1 h ago"),
        attempts_chart(conn, CHART_MINUTES, "24 h ago"),
    )
