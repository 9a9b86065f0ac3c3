"""The connection pool: opened explicitly by each process at start-up, never at import."""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool


def make_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, name: str = "wg-webhooks"
) -> ConnectionPool[Connection[TupleRow]]:
    """A pool that is not open yet: call `.open(wait=True)` in the process that uses it."""
    return ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        # A connection that broke while idle (Postgres restarted) is replaced, not handed out.
        check=ConnectionPool.check_connection,
        kwargs={"application_name": name},
    )
