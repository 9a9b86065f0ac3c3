"""Inspect and re-drive deliveries: what the CLI, the API and the operator Celery tasks share.

A re-drive puts a delivery back to `pending`, due now, with its lease dropped and its retry
schedule restarted (`Attempts` counts from 0 again; the attempt log keeps every earlier try).
The event is untouched, so the receiver sees the same `webhook-id` and body as before. Any
status may be re-driven: a `delivered` one too, for a receiver that lost what it got. Every
re-drive NOTIFYs the relays so they claim at once.

`since` everywhere means "whose last state change (death, delivery, attempt, claim) is within
the last `since` seconds", so `deliveries list --status dead --since 24h` shows exactly what
`recover --since 24h` re-drives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.pq import TransactionStatus

from services.db.queries import query
from services.domain import validation
from services.domain.errors import Invalid, NotFound
from services.durations import format_duration, parse_duration
from services.payloads.gotime import go_time_or_none

STATUSES = ("pending", "leased", "delivered", "dead")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# `now() - since` must stay a timestamp Postgres can hold; a window over a century is a typo
MAX_SINCE = 100 * 365 * 86400.0
RECOVER_BATCH = 500

Progress = Callable[[int, int], None]  # (re-driven so far, total in the window)


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: int
    webhook_id: str  # the event's webhook-id header
    endpoint: str
    event: str
    entity: str
    identifier: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    updated_at: datetime

    @property
    def due_at(self) -> datetime | None:
        """When it will be tried next; None unless it is pending."""
        return self.next_attempt_at if self.status == "pending" else None

    def to_json(self) -> dict[str, Any]:
        """The API's (and `deliveries list --json`'s) form, in wg-portal's PascalCase style."""
        return {
            "Id": self.id,
            "EventId": self.event_id,
            "WebhookId": self.webhook_id,
            "Endpoint": self.endpoint,
            "Event": self.event,
            "Entity": self.entity,
            "Identifier": self.identifier,
            "Status": self.status,
            "Attempts": self.attempts,
            "NextAttemptAt": go_time_or_none(self.due_at),
            "LastStatusCode": self.last_status_code,
            "LastError": self.last_error,
            "CreatedAt": go_time_or_none(self.created_at),
            "DeliveredAt": go_time_or_none(self.delivered_at),
            "UpdatedAt": go_time_or_none(self.updated_at),
        }


@dataclass(frozen=True)
class Attempt:
    id: int
    attempted_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_body: str
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "AttemptedAt": go_time_or_none(self.attempted_at),
            "DurationMs": round(self.duration_ms, 3),
            "StatusCode": self.status_code,
            "Error": self.error,
            "Outcome": self.outcome,
            "ResponseBody": self.response_body,
        }


@dataclass(frozen=True)
class DeliveryDetail:
    delivery: Delivery
    attempts: list[Attempt]

    def to_json(self) -> dict[str, Any]:
        """The delivery with `Attempts` as the attempt log; the counter moves to `AttemptCount`."""
        body = self.delivery.to_json()
        body["AttemptCount"] = body.pop("Attempts")
        body["Attempts"] = [a.to_json() for a in self.attempts]
        return body


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    endpoint: str | None = None
    entity: str | None = None
    identifier: str | None = None
    since: float | None = None  # seconds
    limit: int = DEFAULT_LIMIT
    event: str | None = None
    before: int | None = None  # only ids below this one (the next page of a keyset walk)

    def __post_init__(self) -> None:
        check_status(self.status, "status")
        for field in ("endpoint", "entity", "identifier"):
            check_text(getattr(self, field), field)
        if self.since is not None:
            check_since(self.since, "since")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise Invalid(f"limit: must be 1 to {MAX_LIMIT}")


def check_status(status: str | None, field: str) -> None:
    if status is not None and status not in STATUSES:
        raise Invalid(f"{field}: {status!r} is not one of {', '.join(STATUSES)}")


def check_text(value: str | None, field: str) -> None:
    """A name filter Postgres can compare: text without NUL, encodable as UTF-8."""
    if value is None:
        return
    try:
        validation.text(value)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from None


def check_since(seconds: float, field: str) -> None:
    if not seconds > 0:
        raise Invalid(f"{field}: must be more than zero")
    if not seconds <= MAX_SINCE:  # inf too (a duration of 400 digits)
        raise Invalid(f"{field}: must be at most {format_duration(MAX_SINCE)} (100 years)")


def since_seconds(text: object, field: str) -> float:
    """`text` (like "24h") as the seconds of a `since` window; Invalid naming `field` if not."""
    if not isinstance(text, str):
        raise Invalid(f"{field}: {text!r} is not a duration (like 24h)")
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from None
    check_since(seconds, field)
    return seconds


def list_deliveries(conn: Connection[Any], filters: Filters) -> list[Delivery]:
    """Newest first, at most `filters.limit`."""
    rows = conn.execute(
        query("list_deliveries"),
        {
            "status": filters.status,
            "endpoint": filters.endpoint,
            "entity": filters.entity,
            "identifier": filters.identifier,
            "since": filters.since,
            "limit": filters.limit,
            "event": filters.event,
            "before": filters.before,
        },
        prepare=False,  # optional filters: a plan made for the given values, never a generic one
    ).fetchall()
    return [Delivery(*row) for row in rows]


def get_delivery(conn: Connection[Any], delivery_id: int) -> DeliveryDetail:
    row = conn.execute(query("get_delivery"), {"id": delivery_id}).fetchone()
    if row is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    attempts = conn.execute(query("delivery_attempts"), {"id": delivery_id}).fetchall()
    return DeliveryDetail(Delivery(*row), [Attempt(*a) for a in attempts])


def redeliver(conn: Connection[Any], ids: Sequence[int]) -> dict[int, str]:
    """Put `ids` back to pending, due now; return each one's status before.

    All or nothing: an unknown id raises NotFound naming it and changes nothing.
    """
    wanted = sorted(set(ids))
    if not wanted:
        raise Invalid("no delivery id given")
    with conn.transaction():  # an exception inside rolls the whole re-drive back
        rows = conn.execute(query("redeliver"), {"ids": wanted}).fetchall()
        found: dict[int, str] = {row[0]: row[1] for row in rows}
        missing = [i for i in wanted if i not in found]
        if len(missing) == 1:
            raise NotFound(f"no delivery with id {missing[0]}")
        if missing:
            raise NotFound(f"no deliveries with ids {', '.join(map(str, missing))}")
    return found


def recover(
    conn: Connection[Any],
    since_seconds: float,
    endpoint: str | None = None,
    status: str = "dead",
    *,
    progress: Progress | None = None,
    batch_size: int = RECOVER_BATCH,
) -> int:
    """Re-drive every `status` delivery whose last change is within `since_seconds`; the count.

    Works in batches of `batch_size`, one short transaction each, so it never holds many row
    locks for long. The window is fixed when it starts (database clock): what dies meanwhile
    is not in it. `conn` must not be inside a transaction (each batch commits on its own).
    """
    check_status(status, "status")
    check_since(since_seconds, "since")
    check_text(endpoint, "endpoint")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("recover commits batch by batch: call it outside a transaction")
    with conn.transaction():
        window = conn.execute(
            query("recover_window"),
            {"since": since_seconds, "status": status, "endpoint": endpoint},
        ).fetchone()
    assert window is not None
    since, until, total = window
    done = 0
    after = 0
    if progress is not None:
        progress(0, total)
    while True:
        with conn.transaction():
            row = conn.execute(
                query("recover_batch"),
                {
                    "status": status,
                    "since": since,
                    "until": until,
                    "endpoint": endpoint,
                    "after": after,
                    "batch": batch_size,
                },
            ).fetchone()
        assert row is not None
        changed, last_id, _ = row
        if last_id is None:
            break
        done += changed
        after = last_id
        if progress is not None:
            progress(done, max(total, done))
    return done
