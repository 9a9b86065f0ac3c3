"""Waiting for an observable outcome, with a bound (a failing test ends, it does not hang)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")


def wait_for(
    check: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or check}: {last!r}"
            )
        time.sleep(interval)
        last = check()
    return last


def wait_for_lock_waits(db: psycopg.Connection[Any], count: int = 1, what: str = "") -> None:
    """Until `count` sessions of this test's database wait on a lock another one holds."""
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            == (count,)
        ),
        what=what or f"{count} session(s) waiting on a lock",
    )
