"""The connection pool: opened explicitly by each process at start-up, never at import."""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
from psycopg import AsyncConnection, Connection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool

# A connection back in the pool for longer than this is checked (one round trip) before it is
# handed out again; one that was in use a moment ago is not.
CHECK_IDLE_AFTER = 1.0


class _IdleCheck:
    """The pool's `check` and `reset` callbacks: remember when each connection came back, and
    ping only those that sat idle. A connection that broke while idle (Postgres restarted) is
    replaced, not handed out. One that breaks while busy fails its query with
    `OperationalError` (callers handle that: a 503 for the API, a retry or an expiring lease
    for workers), and the pool discards it when it comes back. Checking every connection on
    every checkout would cost a round trip per task start and per result write."""

    def __init__(self) -> None:
        self._returned: weakref.WeakKeyDictionary[Connection[Any] | AsyncConnection[Any], float] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def reset(self, conn: Connection[Any]) -> None:
        with self._lock:
            self._returned[conn] = time.monotonic()

    def check(self, conn: Connection[Any]) -> None:
        if self._idle(conn):
            ConnectionPool.check_connection(conn)

    async def reset_async(self, conn: AsyncConnection[Any]) -> None:
        with self._lock:
            self._returned[conn] = time.monotonic()

    async def check_async(self, conn: AsyncConnection[Any]) -> None:
        if self._idle(conn):
            await AsyncConnectionPool.check_connection(conn)

    def _idle(self, conn: Connection[Any] | AsyncConnection[Any]) -> bool:
        with self._lock:
            returned = self._returned.get(conn)
        return returned is None or time.monotonic() - returned >= CHECK_IDLE_AFTER


def _generic_plans(conn: Connection[Any]) -> None:
    # The delivery statements take arrays and run thousands of times a second: planned once
    # per connection, not at each run (planning record_results cost as much as running it).
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.commit()


def make_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "wg-webhooks",
    generic_plans: bool = False,
) -> ConnectionPool[Connection[TupleRow]]:
    """A pool that is not open yet: call `.open(wait=True)` in the process that uses it.
    `generic_plans`: prepared statements keep one plan (the workers' delivery statements)."""
    idle = _IdleCheck()
    return ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        check=idle.check,
        reset=idle.reset,
        configure=_generic_plans if generic_plans else None,
        kwargs={"application_name": name},
    )


@contextlib.contextmanager
def own_transactions(conn: Connection[Any]) -> Iterator[None]:
    """Inside, `conn` runs the BEGIN and COMMIT it is sent (several transactions in one
    pipeline, one round trip); after, it is back in the pool's mode, an aborted transaction
    rolled back."""
    conn.autocommit = True
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute(b"ROLLBACK")
            conn.autocommit = False


async def _generic_plans_async(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.commit()


def make_async_pool(
    dsn: str, *, max_size: int, name: str
) -> AsyncConnectionPool[AsyncConnection[TupleRow]]:
    """An async pool for an event loop's statements (the workers' claims), not open yet:
    `await .open()` on that loop. Prepared statements keep one plan, as `generic_plans`; a
    connection that sat idle is checked before it is handed out, as in `make_pool`."""
    idle = _IdleCheck()
    return AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        open=False,
        name=name,
        configure=_generic_plans_async,
        check=idle.check_async,
        reset=idle.reset_async,
        kwargs={"application_name": name},
    )


@contextlib.asynccontextmanager
async def own_transactions_async(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """`own_transactions` for an async connection."""
    await conn.set_autocommit(True)
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await conn.execute(b"ROLLBACK")
            await conn.set_autocommit(False)
