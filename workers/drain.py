"""A task's burst: its endpoint's POST pipeline kept full, one Celery message for many batches.

The relay's message starts a task with one batch. The task runs its burst as a coroutine on
the process's event loop (`workers.http.io_loop`), beside every POST of the process: it starts
the POSTs, and as answers come in it hands them to the process's recorder (`workers.recorder`:
group commit, off this path) and leases the endpoint's next due deliveries itself
(`claim_more`: the relay's rules, the endpoint's claim lock, started at once under the task's
own token) on an async connection of the same loop. So up to `leases.batch_size` POSTs of its
endpoint stay in flight without a claim round, a publish and a task start per batch, an
answered POST's slot is free again after one claim rather than after a durable commit, and no
answer waits for a thread to be scheduled. It stops leasing after `leases.DRAIN_SECONDS` (a slow
endpoint gives its worker thread back regularly). When the in-flight cap held its claim back
while the endpoint's other tasks cannot fill the cap alone, it asks again a moment later
(`ROOM_PAUSES`) rather than ending; when nothing is due it waits `leases.LINGER_SECONDS` for
the next NOTIFY (`workers.wakeup`) before it ends, once its results are written. Everything
it holds is renewed by the heartbeat while it runs; a killed task's rows come back within the
started lease, as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.db.pool import make_async_pool, own_transactions_async
from services.db.queries import query
from workers import leases, runtime
from workers.delivery import Job, Sent, send_one
from workers.handoff import Handoff, for_process
from workers.heartbeat import heartbeat
from workers.http import io_loop
from workers.recorder import recorder
from workers.wakeup import wakeup

log = logging.getLogger("workers.tasks")

LINGER_STEP = 0.25  # how soon a waiting task notices a shutdown
GATHER_SECONDS = 0.005  # the longest the first answer of a round waits for the others
# A task whose POSTs are all answered but whose claim the in-flight cap held back (other tasks'
# rows, answered ones among them until their group commit) while the other tasks cannot fill the
# cap alone asks again after these pauses: it keeps its share rather than ending, which would
# cost a new task's message (relay round, publish, task start) when the room is back.
ROOM_PAUSES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
CLAIM_CONNECTIONS = 8  # the loop's connections for claims, per worker process


class _Lingering:
    """How many tasks of this process wait for their endpoint's next event."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self._count >= max(1, runtime.pool_size // 2):
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._count -= 1


_lingering = _Lingering()


class _ClaimPool:
    """The loop's pool of connections for claims: opened on first use, on the loop."""

    def __init__(self) -> None:
        self._pool: AsyncConnectionPool[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self, dsn: str) -> AsyncConnectionPool[Any]:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            pool = make_async_pool(dsn, max_size=CLAIM_CONNECTIONS, name="wg-webhooks-worker")
            self._pool, self._loop = pool, loop
            await pool.open(wait=False)
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=2)


_claim_pool = _ClaimPool()
io_loop.closing.append(_claim_pool.close)


def jobs_of(rows: Sequence[Any]) -> list[Job]:
    return [
        Job(delivery_id, webhook_id, attempts, body, created_at, trace)
        for delivery_id, webhook_id, _endpoint, attempts, body, created_at, trace in rows
    ]


class Drain:
    """One task's pipeline for one endpoint, under one run token."""

    def __init__(self, rt: runtime.Runtime, endpoint_name: str, run_token: str) -> None:
        self.rt = rt
        self.endpoint_name = endpoint_name
        self.run_token = run_token
        self.in_flight: dict[asyncio.Task[Sent], Job] = {}
        # answers handed to the recorder, by its future: their rows stay ours until written
        self.recording: dict[asyncio.Future[bool], list[int]] = {}
        self.recorded = 0  # attempts written, of the handed over ones no longer in `recording`
        self.began = time.monotonic()
        self.claim_failed = False
        self.room_soon = False  # the last claim was held back by the cap, room comes soon

    def run(self, jobs: list[Job]) -> int:
        """Send `jobs` and what the endpoint has due after them (from a worker thread, which
        waits); the number of attempts recorded."""
        handoff = for_process(self.rt.settings.redis_url)
        try:
            return io_loop.run(self._run(jobs, handoff))
        finally:
            handoff.drop(self.endpoint_name, self.run_token)

    async def _run(self, jobs: list[Job], handoff: Handoff) -> int:
        dsn = self.rt.settings.database_dsn
        await self._submit(jobs)
        seen = wakeup.generation(dsn)
        while True:
            if self.in_flight:
                sent = await self._collect()
                seen = wakeup.generation(dsn)  # before the claim: a NOTIFY after it counts
                leasing = self._may_lease()
                self._hand_over(sent, wake=not leasing)
                if leasing:
                    await self._submit(jobs_of(await self._claim(self._room())))
                continue
            if self.room_soon and self._may_lease() and await self._wait_for_room():
                continue
            if not self._may_lease():  # its budget may have run out while it waited for room
                break
            # Idle. One task per endpoint waits for the next event; the others end.
            if not await asyncio.to_thread(handoff.take, self.endpoint_name, self.run_token):
                break
            if not await self._linger(seen):
                break
            seen = wakeup.generation(dsn)
            await self._submit(jobs_of(await self._claim(self._room())))
        return await self._recorded()

    def _hand_over(self, sent: list[Sent], wake: bool) -> None:
        for one in sent:
            _log_attempt(self.endpoint_name, one)
        done = recorder.submit(self.run_token, self.endpoint_name, sent, wake)
        self.recording[asyncio.wrap_future(done)] = [s.job.delivery_id for s in sent]

    async def _recorded(self) -> int:
        """Wait for every answer handed over to be written; how many were."""
        for done, ids in self.recording.items():
            self.recorded += len(ids) if await done else 0
        self.recording.clear()
        return self.recorded

    def _answered(self) -> list[int]:
        """Rows answered but not yet written: leased still, but no longer POSTs in flight."""
        for done in [done for done in self.recording if done.done()]:
            self.recorded += len(self.recording.pop(done)) if done.result() else 0
        return [i for ids in self.recording.values() for i in ids]

    async def _linger(self, seen: int) -> bool:
        """Wait for a notification after `seen`, at most LINGER_SECONDS, less if the worker
        shuts down; whether one came. Not when half the worker's threads wait already."""
        if not _lingering.enter():
            return False
        try:
            until = time.monotonic() + leases.LINGER_SECONDS
            while not runtime.stopping.is_set():
                left = until - time.monotonic()
                if left <= 0:
                    return False
                if await wakeup.wait_async(seen, min(left, LINGER_STEP)):
                    return True
            return False
        finally:
            _lingering.leave()

    async def _wait_for_room(self) -> bool:
        """Everything answered, the cap full, our share of it coming back: pause and claim
        again until it does (ROOM_PAUSES, about 0.2s in all); whether POSTs are in flight again."""
        for pause in ROOM_PAUSES:
            await asyncio.sleep(pause)
            if not self._may_lease():
                return False
            await self._submit(jobs_of(await self._claim(self._room())))
            if self.in_flight or not self.room_soon:
                return bool(self.in_flight)
        return False

    async def _collect(self) -> list[Sent]:
        """The answers in so far: at least one, then until half of what is in flight is in,
        for at most GATHER_SECONDS (one claim refills the room: fewer, larger rounds)."""
        done, pending = await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
        until = time.monotonic() + GATHER_SECONDS
        while pending and len(done) < len(self.in_flight) / 2:
            left = until - time.monotonic()
            if left <= 0:
                break
            more, pending = await asyncio.wait(
                pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
            done |= more
        for task in done:
            del self.in_flight[task]
        return [task.result() for task in done]

    # leasing

    def _may_lease(self) -> bool:
        return (
            time.monotonic() - self.began < leases.DRAIN_SECONDS
            and not runtime.stopping.is_set()
            and not self.claim_failed
        )

    def _room(self) -> int:
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if endpoint is None:
            return 0
        return leases.window(endpoint, self.rt.settings.webhook.batch_size) - len(self.in_flight)

    def _claim_params(self, want: int) -> dict[str, Any]:
        """The parameters of `claim_more` for up to `want` rows ({}: nothing to claim)."""
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if want <= 0 or endpoint is None:
            return {}
        return {
            "endpoint": self.endpoint_name,
            "run_token": self.run_token,
            "want": want,
            "window": leases.window(endpoint, self.rt.settings.webhook.batch_size),
            "cap": endpoint.max_in_flight,
            "max_tasks": leases.MAX_TASKS_PER_ENDPOINT,
            "lease_seconds": leases.STARTED_SECONDS,
            "generation": self.rt.endpoints.generation,
            "answered": self._answered(),
        }

    async def _claim(self, want: int, again: bool = True) -> list[Any]:
        """Up to `want` more of the endpoint's due deliveries, leased: one round trip for the
        endpoint's claim lock and `claim_more` in a transaction whose commit waits for no WAL
        flush ([] when none, or when the database is out of reach: then the burst leases no
        more). Sets `room_soon` (see claim_more).

        One pipeline, read only after its single sync: the claim lock is held for the server's
        time only. When the runtime endpoints' generation moved, the claim leased nothing (its
        own guard): the snapshot is reloaded and the claim asked again."""
        self.room_soon = False
        params = self._claim_params(want)
        if not params:
            return []
        try:
            pool = await _claim_pool.get(self.rt.settings.database_dsn)
            async with pool.connection() as conn:
                async with own_transactions_async(conn), conn.pipeline():
                    await conn.execute(b"BEGIN")
                    await conn.execute(
                        query("claim_lock_endpoint_wait"), {"endpoint": self.endpoint_name}
                    )
                    claimed = await conn.execute(query("claim_more"), params)
                    await conn.execute(b"COMMIT")
                found = await claimed.fetchall()
        except psycopg.errors.UniqueViolation:  # a key leased meanwhile: the next round
            return []
        except psycopg.OperationalError as exc:
            log.warning("database unavailable leasing more (%s); ending the burst", short(exc))
            self.claim_failed = True
            return []
        if found and found[0][0] != self.rt.endpoints.generation:
            # a removal or new URL shows before the next claim
            await asyncio.to_thread(self._refresh)
            if again:
                return await self._claim(min(want, self._room()), again=False)
        self.room_soon = bool(found and found[0][1])
        return [row[2:] for row in found if row[2] is not None]

    def _refresh(self) -> None:
        with self.rt.pool.connection() as conn:
            self.rt.endpoints.refresh(conn)

    async def _submit(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        endpoint = self.rt.endpoints.get(self.endpoint_name)
        if endpoint is None:
            ids = [j.delivery_id for j in jobs]
            await asyncio.to_thread(give_back, self.rt, ids, self.run_token)
            log.warning(
                "endpoint %s was removed: %d deliveries wait for it (nothing sent)",
                self.endpoint_name,
                len(jobs),
            )
            return
        block_private = self.rt.settings.webhook.block_private_networks
        for job in jobs:
            self.in_flight[asyncio.create_task(send_one(endpoint, job, block_private))] = job
        heartbeat.hold(
            self.run_token,
            [j.delivery_id for j in self.in_flight.values()] + self._answered(),
        )


def give_back(rt: runtime.Runtime, ids: list[int], run_token: str) -> None:
    """Pending again at once, unsent: they wait, by name, for their endpoint to come back."""
    try:
        with rt.pool.connection() as conn, conn.transaction():
            conn.execute(query("release_rows"), {"ids": ids, "token": run_token})
    except psycopg.OperationalError as exc:
        log.warning("could not give back leases (%s); they will expire", short(exc))


def _log_attempt(endpoint_name: str, sent: Sent) -> None:
    """One line per POST (DEBUG when delivered): JSON logs carry its ids as fields."""
    level = logging.DEBUG if sent.outcome.status == "delivered" else logging.INFO
    if not log.isEnabledFor(level):
        return
    result, job = sent.result, sent.job
    answer = f"HTTP {result.status_code}" if result.status_code is not None else result.error
    log.log(
        level,
        "delivery %d attempt %d to %s: %s -> %s",
        job.delivery_id,
        job.attempts + 1,
        endpoint_name,
        answer,
        sent.outcome.status,
        extra={
            "event_id": job.webhook_id,  # the webhook-id header: what the receiver sees
            "delivery_id": job.delivery_id,
            "endpoint": endpoint_name,
            "attempt": job.attempts + 1,
        },
    )


def short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
