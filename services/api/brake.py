"""A brake on guessing API tokens: failed logins counted per client address and per user.

- A client address with `client_limit` failures within `window` seconds is refused (429 with
  Retry-After) before its credentials are even looked at, whatever user it names.
- A user identifier with `user_limit` failures within `window` is refused to every client that
  has itself failed against it in that window. A client that has not (the user's own, from
  another address) is still checked, so a correct token from another client always gets in;
  a guesser spread over many addresses gets one guess per address and window.

In-process: each API replica counts alone (SECURITY.md). Memory is bounded: at most `max_keys`
counters, the oldest dropped first.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("wg_webhooks.api")

CLIENT_LIMIT = 20
USER_LIMIT = 10
WINDOW = 60.0
MAX_KEYS = 10_000


class FailedAuthBrake:
    def __init__(
        self,
        client_limit: int = CLIENT_LIMIT,
        user_limit: int = USER_LIMIT,
        window: float = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_limit = client_limit
        self.user_limit = user_limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, user: str) -> int | None:
        """Whole seconds this attempt must wait, or None to check its credentials."""
        with self._lock:
            now = self.clock()
            by_client = self._recent(("client", client), now)
            if len(by_client) >= self.client_limit:
                return self._wait(by_client, self.client_limit, now)
            by_user = self._recent(("user", user), now)
            if len(by_user) >= self.user_limit and self._recent(("pair", client, user), now):
                return self._wait(by_user, self.user_limit, now)
            return None

    def failed(self, client: str, user: str) -> None:
        with self._lock:
            now = self.clock()
            for key, limit in (
                (("client", client), self.client_limit),
                (("user", user), self.user_limit),
                (("pair", client, user), 0),
            ):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                if len(times) == limit:
                    log.warning(
                        "failed-auth brake on for %s %r: %d failed logins in %gs",
                        key[0], key[1], limit, self.window,
                    )  # fmt: skip
            self._bound()

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _wait(self, times: deque[float], limit: int, now: float) -> int:
        """Until enough failures age out to bring the count under `limit`."""
        frees_at = times[len(times) - limit] + self.window
        return max(1, math.ceil(frees_at - now))

    def _bound(self) -> None:
        if len(self._failures) <= self.max_keys:
            return
        now = self.clock()
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) > self.max_keys:  # still too many: the oldest keys go
            del self._failures[next(iter(self._failures))]
