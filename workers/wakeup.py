"""New work for a waiting task: one LISTEN per worker process, shared by its idle tasks.

A task whose endpoint has nothing due lingers (`leases.LINGER_SECONDS`) before it ends. It reads
the `generation` before it claims and, finding nothing, waits for it to change: every NOTIFY on
the outbox channel (a new event, a result that unblocked a key, a scheduled retry) bumps it, so
a notification that arrives while the task claims is not missed. Without a listener (Postgres
unreachable) a wait simply times out and the task ends: the relay still hands work out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import psycopg
from psycopg import sql

from services.outbox import CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


class Wakeup:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self._pid = 0
        self._dsn = ""
        self._stop = threading.Event()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def stop(self) -> None:
        """End the listener (with the process's runtime); the next `generation` starts anew."""
        with self._cond:
            self._stop.set()
            self._pid = 0
            self._stop = threading.Event()  # the next listener's

    def generation(self, dsn: str) -> int:
        """The count of notifications seen so far (starts the listener on first use)."""
        with self._cond:
            if self._pid != os.getpid():  # first use, or first use after a fork or stop
                self._pid, self._dsn = os.getpid(), dsn
                threading.Thread(
                    target=self._run, args=(self._stop,), name="outbox-listen", daemon=True
                ).start()
            return self._generation

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until a notification after `seen` (True) or `timeout` seconds (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != seen, timeout)

    async def wait_async(self, seen: int, timeout: float) -> bool:
        """`wait` for a coroutine: the loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        with self._cond:
            if self._generation != seen:
                return True
            self._waiters.add((loop, woken))
        try:
            async with asyncio.timeout(timeout):
                await woken.wait()
            return True
        except TimeoutError:
            return False
        finally:
            with self._cond:
                self._waiters.discard((loop, woken))

    def _bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
            for loop, woken in self._waiters:
                loop.call_soon_threadsafe(woken.set)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn, autocommit=True, application_name="wg-webhooks-worker-listen"
                ) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self._bump()  # anything committed before LISTEN took effect: look again
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=RECONNECT_SECONDS):
                            self._bump()
            except psycopg.Error as exc:
                if stop.is_set():
                    return
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
                log.debug("outbox listener reconnecting (%s)", first)
            stop.wait(RECONNECT_SECONDS)


wakeup = Wakeup()
