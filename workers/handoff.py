"""Which endpoints have a task waiting for their next event, so that the relay leaves it to it.

A task whose endpoint has nothing due may linger for the next event (`workers.drain`), but only
one per endpoint: the one holding the endpoint's linger key in the broker's Redis (set with a
short expiry, renewed while it waits, deleted when it ends). The relay reads the keys of all its
endpoints each round and, for an endpoint with a lingering task, claims only deliveries due for
longer than HANDOFF_SECONDS: a fresh event goes out through the waiting task (no claim round, no
publish, no task start), and one the task did not take within that time (it is busy, or it died
and its key has not expired yet) goes out through the relay as before. Without Redis nobody
lingers and the relay claims everything at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

import redis

KEY_PREFIX = "wg-webhooks:linger:"
HANDOFF_SECONDS = 0.05
KEY_MILLISECONDS = 3000  # outlives one wait (leases.LINGER_SECONDS is renewed before each)

# take the key if free or already ours, and (re)arm its expiry; 1 when ours
_TAKE = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_DROP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_ERRORS = (redis.RedisError, OSError)


class Handoff:
    def __init__(self, redis_url: str) -> None:
        self._client: Any = (
            redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
            if redis_url
            else None
        )
        self._take = self._client.register_script(_TAKE) if self._client else None
        self._drop = self._client.register_script(_DROP) if self._client else None

    def take(self, endpoint: str, token: str) -> bool:
        """May the task `token` linger for `endpoint` (it holds or took the key)?"""
        if self._take is None:
            return False
        try:
            return bool(self._take(keys=[KEY_PREFIX + endpoint], args=[token, KEY_MILLISECONDS]))
        except _ERRORS:
            return False

    def drop(self, endpoint: str, token: str) -> None:
        if self._drop is not None:
            with contextlib.suppress(*_ERRORS):
                self._drop(keys=[KEY_PREFIX + endpoint], args=[token])

    def lingering(self, endpoints: Sequence[str]) -> set[str]:
        """Of `endpoints`, those a task is waiting for (none when Redis does not answer)."""
        if self._client is None or not endpoints:
            return set()
        try:
            held = self._client.mget([KEY_PREFIX + name for name in endpoints])
        except _ERRORS:
            return set()
        return {name for name, value in zip(endpoints, held, strict=True) if value is not None}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


_process: tuple[int, Handoff] | None = None


def for_process(redis_url: str) -> Handoff:
    """This worker process's Handoff (a new one after a fork)."""
    global _process
    if _process is None or _process[0] != os.getpid():
        _process = (os.getpid(), Handoff(redis_url))
    return _process[1]
