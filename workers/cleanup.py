"""Retention: purge what is delivered and older than `webhook.retention`, in small batches.

Deleted, oldest first: deliveries delivered before the cutoff (with their attempts); dead
deliveries that died before it and were never re-driven; events older than it with no delivery
left; attempts older than it of deliveries that are still kept. Pending and leased deliveries
and their events are never touched. Each batch is its own short transaction and skips rows
someone else holds, so writers never wait on it. One cleanup runs at a time across every
replica (a Postgres advisory try-lock); the others skip their turn.

The relay calls `Retention.maybe_run()` every round: at most once per interval it starts a
cleanup in a background thread with its own connection, so claims never wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg import Connection

from services.config import Settings
from services.db.queries import query

log = logging.getLogger("wg_webhooks.retention")

BATCH = 1000
INTERVAL = 3600.0
# Statements are small batches; one that waits this long on a lock gives up and runs next time.
STATEMENT_TIMEOUT_MS = 60_000
# Never purge what is younger than this, whatever the config says: /metrics folds attempts into
# its running totals a few minutes after they are written (SETTLE_SECONDS), and a row deleted
# before that would make a counter go down.
MIN_RETENTION = 600.0

_STEPS = (
    ("delivered", "purge_delivered"),
    ("dead", "purge_dead"),
    ("events", "purge_events"),
    ("attempts", "purge_old_attempts"),
)


def run_cleanup(
    conn: Connection[Any],
    settings: Settings,
    *,
    batch_size: int = BATCH,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Purge everything past retention, batch by batch; the counts deleted.

    `conn` must not be inside a transaction. Returns `{"skipped": 1, ...}` with zero counts when
    another replica is cleaning up right now.
    """
    counts = {"delivered": 0, "dead": 0, "events": 0, "attempts": 0, "skipped": 0}
    with conn.transaction():
        locked = conn.execute(query("retention_try_lock")).fetchone()
    if locked is None or not locked[0]:
        counts["skipped"] = 1
        return counts
    try:
        with conn.transaction():
            row = conn.execute(
                query("retention_cutoff"),
                {"retention": max(settings.webhook.retention, MIN_RETENTION)},
            ).fetchone()
        assert row is not None
        cutoff = row[0]
        for key, name in _STEPS:
            while stop is None or not stop.is_set():
                with conn.transaction():
                    result = conn.execute(
                        query(name), {"cutoff": cutoff, "batch": batch_size}
                    ).fetchone()
                assert result is not None
                deleted = int(result[0])
                counts[key] += deleted
                if len(result) > 1:  # deliveries take their attempts with them
                    counts["attempts"] += int(result[1])
                if deleted < batch_size:
                    break
    finally:
        with conn.transaction():
            conn.execute(query("retention_unlock"))
    return counts


class Retention:
    """Runs `run_cleanup` at most once per `interval`, in a thread, never two at once."""

    def __init__(self, settings: Settings, interval: float = INTERVAL) -> None:
        self.settings = settings
        self.interval = interval
        self._next = 0.0  # the first call starts one: a restarted relay catches up at once
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def maybe_run(self) -> bool:
        """Start a cleanup if one is due and none is running; True if it started one."""
        now = time.monotonic()
        if self._stop.is_set() or now < self._next:
            return False
        if self._thread is not None and self._thread.is_alive():
            return False
        self._next = now + self.interval
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in progress (called when the relay stops)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            with psycopg.connect(
                self.settings.database_dsn,
                autocommit=True,
                application_name="wg-webhooks-retention",
            ) as conn:
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    (str(STATEMENT_TIMEOUT_MS),),
                )
                counts = run_cleanup(conn, self.settings, stop=self._stop)
        except psycopg.Error as exc:
            log.warning(
                "retention cleanup failed (%s); next try in %gs",
                str(exc).strip()[:200],
                self.interval,
            )
            return
        if counts["skipped"]:
            log.info("retention cleanup skipped: another replica is running it")
        elif any(counts[k] for k in ("delivered", "dead", "events", "attempts")):
            log.info(
                "retention cleanup: %(delivered)d delivered and %(dead)d dead deliveries, "
                "%(events)d events, %(attempts)d attempts deleted",
                counts,
            )
