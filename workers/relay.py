"""The outbox relay: claim due deliveries, lease them, enqueue `webhooks.deliver` after commit.

Any number of relays may run: each claim is a short transaction that takes a per-endpoint
try-lock (so the in-flight cap is exact), skips rows another relay holds, and leases at most
one open delivery per (endpoint, ordering key). Messages are published only after the lease
committed; one that cannot be published gives its lease back at once. Expired leases (a
worker died: its heartbeat stopped, workers.heartbeat) are reclaimed here, and when the queue
was lost (Redis restarted empty or flushed, `QueueWatch`) the leases whose messages were in it
are given back at once. Wakes on NOTIFY, polls
as a fallback, and sleeps until the next retry is due.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import Connection, sql

from services import tracing
from services.config import Endpoint, Settings
from services.config_values import listen
from services.db.queries import query
from services.endpoints.live import LiveEndpoints
from services.endpoints.store import CHANNEL as ENDPOINTS_CHANNEL
from services.jobs import schedule_for
from services.outbox import CHANNEL
from workers import leases
from workers.cleanup import Retention
from workers.handoff import HANDOFF_SECONDS, Handoff
from workers.leases import MAX_TASKS_PER_ENDPOINT, batch_size
from workers.relay_probe import Heartbeat, serve_probe

log = logging.getLogger("wg_webhooks.relay")

RECLAIM_EVERY = 1.0  # expired leases, and whether the queue was lost (one GET)
QUEUE_MARKER = "wg-webhooks:queue-marker"
PROBE_VARIABLE = "WG_WEBHOOKS_RELAY_PROBE"  # host:port of the liveness probe, set by the CLI


@dataclass(frozen=True)
class Claim:
    endpoint: str
    token: str
    ids: list[int]


Publisher = Callable[[Claim], None]


def claim(
    conn: Connection[Any],
    settings: Settings,
    current: Sequence[Endpoint] | None = None,
    handed_off: Collection[str] = (),
) -> list[Claim]:
    """One short transaction: lease what is due and allowed; return one Claim per endpoint.

    `current` is the endpoint set to claim for (default: the config file's); of `handed_off`
    endpoints (a task waits for their next event, `workers.handoff`) only what has been due for
    a moment."""
    endpoints = {e.name: e for e in (settings.webhook.endpoints if current is None else current)}
    if not endpoints:
        return []
    with conn.transaction():
        free = [
            row[0]
            for row in conn.execute(
                query("claim_lock_endpoints"), {"endpoints": list(endpoints)}
            ).fetchall()
        ]
        if not free:
            return []
        try:
            with conn.transaction():
                rows = conn.execute(
                    query("claim_due"),
                    {
                        "endpoints": free,
                        "caps": [endpoints[n].max_in_flight for n in free],
                        "lease_seconds": [
                            leases.claim_seconds(endpoints[n], settings.webhook.lease_grace)
                            for n in free
                        ],
                        "batches": [
                            batch_size(endpoints[n], settings.webhook.batch_size) for n in free
                        ],
                        "min_ages": [HANDOFF_SECONDS if n in handed_off else 0.0 for n in free],
                        "max_tasks": MAX_TASKS_PER_ENDPOINT,
                    },
                ).fetchall()
        except psycopg.errors.UniqueViolation:
            # Another relay leased the same key between our check and our update: next round.
            return []
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for delivery_id, endpoint, token in rows:
        grouped[(endpoint, str(token))].append(delivery_id)
    return [Claim(e, t, sorted(ids)) for (e, t), ids in grouped.items()]


def no_fsync_wait(conn: Connection[Any]) -> None:
    """For the relay's own connection, which writes nothing but leases: they may commit without
    waiting for the WAL flush. If Postgres crashed and lost one, its rows are simply pending
    again and the message's token no longer matches (a no-op). Entity changes, events and
    delivery results keep full durability."""
    conn.execute("SET synchronous_commit = off")
    conn.commit()


def release(conn: Connection[Any], token: str) -> None:
    with conn.transaction():
        conn.execute(query("release_leases"), {"token": token})


def release_queued(conn: Connection[Any]) -> int:
    with conn.transaction():
        return len(conn.execute(query("release_queued")).fetchall())


class QueueWatch:
    """Notices a lost queue: every relay keeps a marker key in the broker's Redis. Restarted
    empty or flushed, Redis loses the marker with the messages; the first relay to see it gone
    gives back every lease no worker has started (`release_queued`), then sets a new one."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def lost(self) -> bool:
        """True when the marker is gone (or never was): the queue's messages are gone too."""
        try:
            return self._client.get(QUEUE_MARKER) is None
        except self._errors:
            return False  # unreachable: publishing fails too, and gives its lease back

    def mark(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.set(QUEUE_MARKER, uuid.uuid4().hex, nx=True)

    def close(self) -> None:
        self._client.close()


def reclaim_expired(conn: Connection[Any]) -> int:
    with conn.transaction():
        return len(conn.execute(query("reclaim_expired")).fetchall())


def seconds_until_next_due(conn: Connection[Any], endpoints: Sequence[Endpoint]) -> float | None:
    names = [e.name for e in endpoints]
    with conn.transaction():
        row = conn.execute(query("next_due"), {"endpoints": names}).fetchone()
    if row is None or row[0] is None:
        return None
    due: datetime = row[0]
    return max(0.0, (due - datetime.now(UTC)).total_seconds())


def celery_publisher() -> Publisher:
    """Publish by task name through the project's Celery app (ids and token only)."""
    from workers.app import QUEUE, app

    def publish(claimed: Claim) -> None:
        app.send_task(
            "webhooks.deliver", args=[claimed.ids, claimed.token], queue=QUEUE, retry=False
        )

    return publish


class Relay:
    def __init__(self, settings: Settings, publish: Publisher | None = None) -> None:
        self.settings = settings
        self.publish = publish or celery_publisher()
        self.stopping = threading.Event()
        self.retention = Retention(settings)
        self.live = LiveEndpoints(settings)
        # a relay given its own publisher (tests) has no queue to watch
        watch = publish is None and bool(settings.redis_url)
        self.queue = QueueWatch(settings.redis_url) if watch else None
        self.handoff = Handoff(settings.redis_url if watch else "")
        self.heartbeat = Heartbeat()  # the liveness probe reads it
        # reconcile with wg-portal, or the expired-peers check: one replica runs each turn
        self.periodic = schedule_for(settings)

    def stop(self) -> None:
        self.stopping.set()
        self.retention.stop()
        self.periodic.stop()

    def run(self) -> None:
        log.info(
            "relay started for endpoints: %s",
            ", ".join(e.name for e in self.settings.webhook.endpoints) or "(none)",
        )
        while not self.stopping.is_set():
            self.heartbeat.beat()
            try:
                self._serve()
            except psycopg.OperationalError as exc:
                log.warning("database unavailable (%s); retrying in 1s", str(exc).strip()[:200])
                self.stopping.wait(1.0)
        log.info("relay stopped")

    def _serve(self) -> None:
        dsn = self.settings.database_dsn
        name = "wg-webhooks-relay"
        with (
            psycopg.connect(dsn, autocommit=True, application_name=name) as listen,
            psycopg.connect(dsn, application_name=name) as conn,
        ):
            listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(ENDPOINTS_CHANNEL)))
            no_fsync_wait(conn)
            last_reclaim = 0.0
            while not self.stopping.is_set():
                self.heartbeat.beat()
                self.retention.maybe_run()  # at most hourly, in its own thread, one cluster-wide
                self.periodic.maybe_run()
                if time.monotonic() - last_reclaim >= RECLAIM_EVERY:
                    self._recover(conn)
                    last_reclaim = time.monotonic()
                self._refresh_endpoints(conn)
                began = tracing.now_ns()
                endpoints = self.live.all
                waiting = self.handoff.lingering([e.name for e in endpoints])
                claims = claim(conn, self.settings, endpoints, waiting)
                if claims:  # a span per round that claimed something (not per idle poll)
                    count = sum(len(c.ids) for c in claims)
                    with tracing.span("relay claim", {"wg_webhooks.deliveries": count},
                                      start_ns=began):  # fmt: skip
                        self._publish_all(conn, claims)
                for claimed in claims:
                    log.debug(
                        "claimed %d deliveries for %s",
                        len(claimed.ids),
                        claimed.endpoint,
                        extra={"endpoint": claimed.endpoint},
                    )
                if self._filled_a_batch(claims):
                    continue  # there may be more, and room for it: claim again at once
                # Otherwise everything claimable now was claimed: what is left waits for room
                # or for an earlier event of its key, and the worker that frees either NOTIFYs.
                self._wait(listen, conn)

    def _refresh_endpoints(self, conn: Connection[Any]) -> None:
        """Pick up endpoints added, changed or removed through the API (one row read)."""
        with conn.transaction():
            changed = self.live.refresh(conn)
        if changed:
            log.info("endpoints now: %s", ", ".join(e.name for e in self.live.all) or "(none)")

    def _recover(self, conn: Connection[Any]) -> None:
        """Work that a dead worker or a lost queue holds: pending again, at once."""
        if self.queue is not None and self.queue.lost():
            count = release_queued(conn)
            self.queue.mark()
            log.log(
                logging.WARNING if count else logging.INFO,
                "no queue marker in Redis (new, restarted empty or flushed): %d queued "
                "deliveries given back",
                count,
            )
        if (count := reclaim_expired(conn)) > 0:
            log.warning("reclaimed %d expired leases", count)

    def _filled_a_batch(self, claims: list[Claim]) -> bool:
        for claimed in claims:
            endpoint = self.live.get(claimed.endpoint)
            if endpoint is None:
                continue
            if len(claimed.ids) >= batch_size(endpoint, self.settings.webhook.batch_size):
                return True
        return False

    def _publish_all(self, conn: Connection[Any], claims: list[Claim]) -> None:
        for claimed in claims:
            try:
                self.publish(claimed)
            except Exception as exc:  # broker down: give the lease back, retry next round
                log.warning(
                    "could not enqueue %d deliveries for %s (%s); released",
                    len(claimed.ids),
                    claimed.endpoint,
                    type(exc).__name__,
                    extra={"endpoint": claimed.endpoint},
                )
                release(conn, claimed.token)
                self.stopping.wait(0.5)

    def _wait(self, listen: Connection[Any], conn: Connection[Any]) -> None:
        """Nothing was claimable: sleep until a NOTIFY (new event, freed capacity), the next
        retry's due time, or the poll interval, whichever comes first."""
        timeout = self.settings.webhook.poll_interval
        due = seconds_until_next_due(conn, self.live.all)
        if due is not None and due > 0:
            # due == 0 with nothing claimed means the due rows wait for capacity or for an
            # earlier event of their key: a worker's NOTIFY will say when that changes
            timeout = min(timeout, due)
        for _ in listen.notifies(timeout=timeout, stop_after=1):
            pass
        # Drain whatever else arrived meanwhile: one claim serves them all.
        for _ in listen.notifies(timeout=0.0):
            pass


def main(settings: Settings, probe: str = "") -> None:
    """Run a relay until SIGTERM/SIGINT; with `probe` ("host:port") serve its liveness probe."""
    relay = Relay(settings)
    if probe:
        address = listen(probe)
        serve_probe(address.host, address.port, relay.heartbeat)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after this round", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    relay.run()


if __name__ == "__main__":
    from services.cli.logging_setup import setup_logging
    from workers.runtime import settings_from_environment

    settings = settings_from_environment()
    setup_logging(settings.advanced)
    tracing.setup("relay")
    main(settings, os.environ.get(PROBE_VARIABLE, ""))
