"""The faults: what is broken, at which moment of the run, and a log of what was done.

Moments are fractions of the API load (seeded), not wall-clock times, so the same seed breaks
the same things at the same stage of the run on a fast or a slow machine (on a machine too slow
to finish the load in its time budget, the share of that budget used counts as the stage).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from tests.faults.stack import Stack
from tests.support.processes import Proc

KINDS = (
    "worker_kill",
    "relay_kill",
    "redis_kill",
    "redis_flush",
    "postgres_restart",
    "collector_kill",
)


@dataclass(frozen=True)
class Fault:
    at: float  # the fraction of the API load done when it happens
    kind: str


@dataclass
class Done:
    kind: str
    started: float  # time.time()
    ended: float
    detail: str


def plan_faults(counts: dict[str, int], rng: random.Random) -> list[Fault]:
    faults = [
        Fault(rng.uniform(0.05, 0.85), kind) for kind in KINDS for _ in range(counts.get(kind, 0))
    ]
    return sorted(faults, key=lambda f: f.at)


class Chaos(threading.Thread):
    """Applies the planned faults in order as the load progresses; one at a time."""

    def __init__(
        self,
        stack: Stack,
        faults: list[Fault],
        progress: Callable[[], float],
        rng: random.Random,
        say: Callable[[str], None],
    ) -> None:
        super().__init__(name="chaos", daemon=True)
        self.stack = stack
        self.faults = faults
        self.progress = progress
        self.rng = rng
        self.say = say
        self.done: list[Done] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for fault in self.faults:
                while self.progress() < fault.at and not self.stack.stopping:
                    if self.stopping.wait(0.05):
                        break
                if self.stopping.is_set() or self.stack.stopping:
                    return
                started = time.time()
                detail = getattr(self, "_" + fault.kind)()
                self.done.append(Done(fault.kind, started, time.time(), detail))
                self.say(f"  fault at {fault.at:4.0%} of the load: {fault.kind} ({detail})")
        except BaseException as exc:  # reported by the run, which then fails
            self.error = exc

    def finish(self, timeout: float = 90.0) -> None:
        """Let the faults still planned happen (the load is over: they are all due), then stop."""
        self.join(timeout)
        self.stopping.set()
        self.join(30)

    def _kill_and_restart(self, command: str) -> str:
        running = self.stack.running(command)
        if not running:
            return f"no {command} running"
        victim = self.rng.choice(running)
        self.stack.end(victim)
        pause = self.rng.uniform(0.2, 2.0)
        time.sleep(pause)
        self.stack.restart(command)
        return f"SIGKILL {victim.name}, a new one after {pause:.1f}s"

    def _worker_kill(self) -> str:
        return self._kill_and_restart("worker")

    def _relay_kill(self) -> str:
        return self._kill_and_restart("relay")

    def _redis_kill(self) -> str:
        self.stack.redis.kill()
        pause = self.rng.uniform(1.0, 3.0)
        time.sleep(pause)
        self.stack.redis.start()
        return f"SIGKILL, restarted after {pause:.1f}s"

    def _redis_flush(self) -> str:
        self.stack.redis.flush()
        return "FLUSHALL"

    def _postgres_restart(self) -> str:
        started = time.monotonic()
        self.stack.postgres.restart()
        return f"pg_ctl restart -m fast, {time.monotonic() - started:.1f}s"

    def _collector_kill(self) -> str:
        """SIGKILL the collector while its transaction is open, if caught within 5 s."""
        running = self.stack.running("collector")
        if not running:
            return "no collector running"
        victim = running[0]
        caught = _wait_in_transaction(self.stack.postgres.url, victim, 5.0)
        self.stack.end(victim)
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.stack.restart("collector")
        where = "inside its transaction" if caught else "between cycles (not caught in one)"
        return f"SIGKILL {victim.name} {where}, restarted"


def _wait_in_transaction(url: str, victim: Proc, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline and victim.alive():
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'wg-webhooks-collector'"
                " AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None and row[0] > 0:
                return True
            time.sleep(0.002)
    return False
