"""A deadline on the *whole* of a request, wherever it is (connecting, waiting for headers,
reading the body).

A socket timeout bounds each socket operation: a receiver that trickles one byte a second never
trips it. Here one watchdog thread per process keeps the deadlines of every request in flight
(a timer thread per request would cost more than the POST itself) and shuts a request's socket
down when its deadline passes. The send path registers the socket with `watch` as soon as it
has one, and asks `expired()` afterwards: an answer the deadline cut off is no answer.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

_current = threading.local()  # .state: this thread's request in flight (deadline, socket)


def watch(sock: socket.socket | None) -> None:
    """The socket of this thread's request in flight (shut down at once if already late)."""
    state = getattr(_current, "state", None)
    if state is None:
        return
    state["sock"] = sock
    if state["expired"] and sock is not None:  # the deadline passed before we got here
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """The one thread per process that expires request deadlines, in deadline order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._counter = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, seconds: float, state: dict[str, Any]) -> None:
        with self._cond:
            if self._thread is None or self._pid != os.getpid():  # first use, or after a fork
                self._heap.clear()
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._pid = os.getpid()
                self._thread.start()
            self._counter += 1
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._counter, state))
            if self._heap[0][2] is state:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, state = heapq.heappop(self._heap)
                    if state.get("armed"):
                        _expire(state)
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)


_watchdog = _Watchdog()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Shut the current request's socket down if it is still running after `seconds`."""
    state: dict[str, Any] = {"armed": True, "expired": False, "sock": None}
    _current.state = state
    _watchdog.arm(seconds, state)
    try:
        yield
    finally:
        state["armed"] = False
        state["sock"] = None


def _expire(state: dict[str, Any]) -> None:
    state["expired"] = True
    sock = state.get("sock")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def expired() -> bool:
    """Whether this thread's last request ran past its deadline."""
    state = getattr(_current, "state", None)
    return bool(state and state["expired"])
