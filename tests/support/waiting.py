"""Waiting for an observable outcome, with a bound (a failing test ends, it does not hang)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
