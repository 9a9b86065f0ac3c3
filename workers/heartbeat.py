"""Liveness instead of long leases: a started task's lease is short and renewed while it works.

A task takes its deliveries over for `leases.STARTED_SECONDS` (`start_lease`). While it POSTs
and records, one thread per worker process renews the leases of all its working tasks every
`leases.RENEW_EVERY` seconds, in one statement. A worker that is killed stops renewing: its rows
expire within `STARTED_SECONDS` and the relay hands them out again, instead of after the
longest a task may take. A task that outlives `hold_for` (`leases.task_seconds`: stuck, not
slow) is renewed no more, so a hung worker cannot keep rows forever.

Two tasks never POST one delivery at once while the heartbeat reaches Postgres: the lease
never lapses, so the relay never reclaims it. A worker cut off from Postgres for longer than
`STARTED_SECONDS` while it POSTs may see its rows sent again by another worker: a duplicate, as
after a kill, which receivers drop by `webhook-id`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from services.db.queries import query
from workers import leases, runtime

log = logging.getLogger(__name__)


@dataclass
class _Held:
    ids: list[int]
    until: float  # monotonic: renewed no longer after this


class Heartbeat:
    """The working tasks of this process, by run token, and the thread that renews them."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._pid = 0

    @contextlib.contextmanager
    def holding(self, token: str, ids: list[int], hold_for: float) -> Iterator[None]:
        """Keep the lease `token` on `ids` alive for the duration of the block."""
        with self._lock:
            self._held[token] = _Held(list(ids), time.monotonic() + hold_for)
            self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(token, None)

    def hold(self, token: str, ids: list[int]) -> None:
        """What the task `token` holds now (a burst leases and records as it goes)."""
        with self._lock:
            held = self._held.get(token)
            if held is not None:
                held.ids = list(ids)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use, or first use after a fork
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="lease-heartbeat", daemon=True).start()

    def _due(self) -> tuple[list[str], list[int]]:
        now = time.monotonic()
        with self._lock:
            live = {t: h for t, h in self._held.items() if h.until > now}
        return list(live), [i for h in live.values() for i in h.ids]

    def _run(self) -> None:
        while True:
            time.sleep(leases.RENEW_EVERY)
            tokens, ids = self._due()
            if tokens:
                try:
                    renew(runtime.current(), tokens, ids)
                except psycopg.Error as exc:
                    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
                    log.warning("could not renew %d leases (%s)", len(tokens), first)


def renew(rt: runtime.Runtime, tokens: list[str], ids: list[int]) -> int:
    """Renew the leases `tokens` hold on `ids` from now; the number of rows still held."""
    with rt.pool.connection() as conn:
        # a renewal lost in a crash only lets the lease expire sooner: no WAL flush to wait for
        conn.execute("SET LOCAL synchronous_commit = off")
        renewed = conn.execute(
            query("renew_leases"),
            {"tokens": tokens, "ids": ids, "lease_seconds": leases.STARTED_SECONDS},
        ).rowcount
        conn.commit()
    return renewed


heartbeat = Heartbeat()
