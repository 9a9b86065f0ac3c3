"""The deliveries table: filters from the query string, keyset pages, and bulk re-drive.

The rows come from redrive.list_deliveries (the API's and the CLI's list). Paging is by id
(`before` = the last id of the page shown), never OFFSET: the thousandth page costs what the
first does. A bulk re-drive walks the same filter the same way, in batches, each batch through
redrive.redeliver (one short transaction each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from psycopg import Connection

from services import redrive
from services.db.queries import query
from services.domain.errors import Invalid
from services.durations import parse_duration

PAGE_SIZE = 50
BULK_BATCH = 500
EVENTS = ("create", "update", "delete", "connect", "disconnect")
ENTITIES = ("user", "peer", "interface")
FIELDS = ("status", "endpoint", "event", "entity", "identifier", "since")


@dataclass(frozen=True)
class Filter:
    """What the operator filters on; every field empty = not filtered on it."""

    status: str = ""
    endpoint: str = ""
    event: str = ""
    entity: str = ""
    identifier: str = ""
    since: str = ""  # a duration like 1h: last state change within it

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filter:
        """From a query string or form; a bad value is Invalid naming its field."""
        found = cls(**{name: params.get(name, "").strip() for name in FIELDS})
        found.bound()  # checks every field
        return found

    def bound(self) -> dict[str, Any]:
        """The SQL parameters (None = not filtered)."""
        redrive.check_status(self.status or None, "status")
        _one_of(self.event, EVENTS, "event")
        _one_of(self.entity, ENTITIES, "entity")
        since = None
        if self.since:
            try:
                since = parse_duration(self.since)
            except ValueError as exc:
                raise Invalid(f"since: {exc}") from None
            if since <= 0:
                raise Invalid("since: must be more than zero")
        return {
            "status": self.status or None,
            "endpoint": self.endpoint or None,
            "event": self.event or None,
            "entity": self.entity or None,
            "identifier": self.identifier or None,
            "since": since,
        }

    def query_string(self, **extra: Any) -> str:
        fields = {k: v for k, v in asdict(self).items() if v}
        fields.update({k: v for k, v in extra.items() if v is not None})
        return urlencode(fields)

    @property
    def active(self) -> bool:
        return any(asdict(self).values())


def _one_of(value: str, allowed: tuple[str, ...], field: str) -> None:
    if value and value not in allowed:
        raise Invalid(f"{field}: {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Page:
    deliveries: list[redrive.Delivery]
    older_than: int | None  # the `before` of the next (older) page; None = this is the last


def page(conn: Connection[Any], filter_: Filter, before: int | None, size: int = PAGE_SIZE) -> Page:
    bound = filter_.bound()
    filters = redrive.Filters(
        bound["status"],
        bound["endpoint"],
        bound["entity"],
        bound["identifier"],
        bound["since"],
        limit=size + 1,  # one more than shown: is there an older page?
        event=bound["event"],
        before=before,
    )
    deliveries = redrive.list_deliveries(conn, filters)
    shown = deliveries[:size]
    return Page(shown, shown[-1].id if len(deliveries) > size else None)


def count(conn: Connection[Any], filter_: Filter) -> int:
    row = conn.execute(query("console_deliveries_count"), filter_.bound(), prepare=False).fetchone()
    return int(row[0]) if row is not None else 0


def redrive_all(conn: Connection[Any], filter_: Filter, batch: int = BULK_BATCH) -> int:
    """Re-drive every delivery the filter matches now, newest first, batch by batch; the count."""
    done = 0
    before: int | None = None
    while True:
        found = page(conn, filter_, before, batch)
        if not found.deliveries:
            return done
        done += len(redrive.redeliver(conn, [d.id for d in found.deliveries]))
        if found.older_than is None:
            return done
        before = found.older_than
