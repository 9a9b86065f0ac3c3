"""The database as the domain sees it: named SQL blocks run on the caller's connection.

The domain (`services.domain`) holds the rules and names no driver: it passes the connection
through as `Connection`, runs the blocks of `services/db/*.sql` by name here, gets rows back as
dicts, and hears of a taken unique key as its own `Conflict`. The driver (psycopg) lives here, in
`services.db.tables` (writes of a caller-chosen set of columns) and in `services.outbox`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.db.queries import query
from services.domain.errors import Conflict

# The caller's connection, inside the transaction the caller owns.
Connection: TypeAlias = psycopg.Connection[Any]
Params: TypeAlias = Mapping[str, Any] | None


def rows(conn: Connection, name: str, params: Params = None) -> list[dict[str, Any]]:
    """Every row the block `name` returns, each as a dict of its columns."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchall()


def row(conn: Connection, name: str, params: Params = None) -> dict[str, Any] | None:
    """The first row the block `name` returns, or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchone()


def run(conn: Connection, name: str, params: Params = None) -> int:
    """Run the block `name` for its effect; how many rows it touched."""
    return conn.execute(query(name), params).rowcount


def as_json(value: Any) -> object:
    """`value` as a bound parameter for a json/jsonb column."""
    return Jsonb(value)


@contextmanager
def conflict_if_taken(message: str) -> Iterator[None]:
    """A write inside that sets a unique key another row holds raises `Conflict(message)`
    instead of the driver's error (the transaction is aborted either way). Opt-in: callers
    outside the domain that catch the driver's integrity errors keep seeing them."""
    try:
        yield
    except psycopg.errors.UniqueViolation:
        raise Conflict(message) from None
