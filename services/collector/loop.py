"""The collector loop: every `statistics.data_collection_interval`, read, parse, record.

A cycle reads the dump with no transaction open, parses it (strictly: a line the parser does not
understand skips the whole cycle, it is never guessed at), and records it in one short
transaction (`status.record_observation`). Every failure is one log line and the loop goes on:
an unreadable dump or a failing `wg` is an error, a missing `wg` is a single warning (a machine
without WireGuard running `wg-webhooks up` is normal), a database error is an error and the next
cycle tries again with a fresh connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from services import tracing
from services.collector.dump import DumpError, parse_dump
from services.collector.source import DumpSource, DumpUnavailable, ToolMissing
from services.collector.status import Observed, record_observation
from services.config import Settings

log = logging.getLogger(__name__)

# A `wg show` that takes this long is stuck; one interval is enough unless the interval is tiny.
MIN_COMMAND_TIMEOUT = 10.0


PING_CHECKS_IGNORED = (
    "statistics.use_ping_checks is true, but this collector does not ping: IsPingable stays "
    "false and a peer counts as connected by its handshake alone (set it to false to silence this)"
)


def command_timeout(settings: Settings) -> float:
    return max(MIN_COMMAND_TIMEOUT, settings.statistics.data_collection_interval)


class CycleResult(Enum):
    RECORDED = "recorded"
    NO_DUMP = "no dump"  # unreadable, failing or missing command, or a broken line
    DATABASE = "database error"


class Collector:
    """One collector process's state between cycles (the rest is in Postgres)."""

    def __init__(
        self,
        settings: Settings,
        pool: ConnectionPool[Any],
        source: DumpSource,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.source = source
        self.clock = clock
        self._warned_missing = False
        self.last: Observed | None = None

    def cycle(self) -> CycleResult:
        """Read, parse and record once; never raises for a bad dump or a database outage. A
        span when tracing: the connect/disconnect events it records are its children."""
        with tracing.span("collector round") as span:
            result = self._cycle()
            if span is not None:
                span.set_attribute("wg_webhooks.outcome", result.name.lower())
        return result

    def _cycle(self) -> CycleResult:
        try:
            text = self.source.read()
        except ToolMissing as exc:
            if not self._warned_missing:
                log.warning("%s (checked again every interval, without more warnings)", exc)
                self._warned_missing = True
            return CycleResult.NO_DUMP
        except DumpUnavailable as exc:
            log.error("no peer status this cycle: %s", exc)
            return CycleResult.NO_DUMP
        if self._warned_missing:
            log.info("%s works now: collecting peer status", self.source.describe())
            self._warned_missing = False
        # WireGuard's handshake times are this host's clock at the time of the dump.
        now = self.clock()
        try:
            dump = parse_dump(text)
        except DumpError as exc:
            log.error("no peer status this cycle: %s of %s", exc, self.source.describe())
            return CycleResult.NO_DUMP
        try:
            with self.pool.connection() as conn:  # commits on success, rolls back on error
                observed = record_observation(conn, self.settings, dump, now)
        except (psycopg.Error, PoolTimeout) as exc:
            log.error("no peer status this cycle: database: %s", _one_line(exc))
            return CycleResult.DATABASE
        self.last = observed
        for event in observed.published:
            log.info(
                "peer %s on %s: %s (event %d)",
                event.peer,
                event.interface,
                event.event.value,
                event.event_id,
            )
        log.debug("recorded the status of %d peer(s)", observed.recorded)
        return CycleResult.RECORDED

    def run(self, stop: threading.Event) -> None:
        """Cycle every interval until `stop` is set; a cycle in progress is always finished."""
        interval = self.settings.statistics.data_collection_interval
        log.info(
            "collector started: reading %s every %gs (rekey timeout %gs, disconnect grace %gs)",
            self.source.describe(),
            interval,
            self.settings.rekey_timeout_interval,
            self.settings.statistics.disconnect_grace,
        )
        if self.settings.statistics.use_ping_checks:
            log.warning(PING_CHECKS_IGNORED)
        next_start = time.monotonic()
        while not stop.is_set():
            self.cycle()
            # A fixed cadence; a cycle longer than the interval starts the next one at once,
            # without a burst of catch-up cycles.
            next_start = max(next_start + interval, time.monotonic())
            stop.wait(max(0.0, next_start - time.monotonic()))
        log.info("collector stopped")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
