"""Everything a fault run starts: servers, receivers, and real `wg-webhooks` processes.

The processes are started as an operator would (`wg-webhooks api|worker|relay|collector`,
through `tests.support.processes`), on the run's own Postgres and Redis and one config file.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from services.embedded import free_port
from tests.faults.servers import Postgres, Redis
from tests.support.processes import ROOT, Proc, Processes, write_config

ADMIN = ("admin@faults.test", "fault-run-admin-token")
TIMEOUT = 2.0  # each endpoint's total timeout: the slow receiver's 0-3 s straddles it
# Many short steps: a delivery that keeps failing for ~20 s is still pending, never dead, and a
# healed receiver is retried within a second.
RETRY_SCHEDULE = ["100ms", "200ms", "300ms", "500ms"] + ["1s"] * 26


@dataclass(frozen=True)
class ReceiverSpec:
    """One endpoint and how its receiver misbehaves while the faults run."""

    name: str
    faults: dict[str, float]


# Three endpoints between them show every failure mode, each on a fraction of the requests.
RECEIVERS = (
    ReceiverSpec("flaky", {"p500": 0.30, "pbig": 0.005}),
    ReceiverSpec("slow", {"pslow": 0.03, "ptrickle": 0.002}),
    ReceiverSpec("rude", {"preset": 0.10}),
)


@dataclass
class ReceiverProc:
    spec: ReceiverSpec
    port: int
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{self.spec.name}"

    def control(self, action: str) -> str:
        answer = requests.get(f"http://127.0.0.1:{self.port}/control/{action}", timeout=60)
        answer.raise_for_status()
        return answer.text


@dataclass
class Stack:
    root: Path
    seed: int
    workers: int = 2
    relays: int = 2
    postgres: Postgres = field(init=False)
    redis: Redis = field(init=False)
    procs: Processes = field(init=False)
    receivers: list[ReceiverProc] = field(default_factory=list)
    api_url: str = ""
    dump_file: Path = field(init=False)
    # processes ended on purpose (a fault, or the end of the faults): not crashes
    ended: set[str] = field(default_factory=set)
    crashed: list[str] = field(default_factory=list)
    stopping: bool = False

    def start(self) -> None:
        self.postgres = Postgres(self.root / "postgres")
        self.postgres.start()
        self.redis = Redis(self.root / "redis")
        self.redis.start()
        self.dump_file = self.root / "wg-dump.txt"
        self._start_receivers()
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        config = write_config(self.root / "config.yaml", self.config(port))
        logs = self.root / "logs"
        logs.mkdir()
        self.procs = Processes(config, self.postgres.url, self.redis.url, logs)
        # all at once: on a busy machine each takes seconds just to import
        self.procs.start("api")
        started = [self.procs.start("worker") for _ in range(self.workers)]
        started += [self.procs.start("relay") for _ in range(self.relays)]
        self._wait_api()
        _wait_ready(started)

    def config(self, api_port: int) -> dict[str, Any]:
        return {
            "core": {"admin_user": ADMIN[0], "admin_api_token": ADMIN[1]},
            "web": {"listening_address": f"127.0.0.1:{api_port}"},
            "backend": {"rekey_timeout_interval": "5s"},
            "statistics": {"collect_peer_data": True, "data_collection_interval": "300ms"},
            "webhook": {
                "timeout": f"{TIMEOUT:g}s",
                "retry_schedule": RETRY_SCHEDULE,
                "max_in_flight": 64,
                "lease_grace": "3s",
                "poll_interval": "250ms",
                "endpoints": [{"name": r.spec.name, "url": r.url} for r in self.receivers],
            },
        }

    def _start_receivers(self) -> None:
        for index, spec in enumerate(RECEIVERS):
            port = free_port()
            log_path = self.root / f"receiver-{spec.name}.log"
            args = [f"--{k}={v}" for k, v in spec.faults.items()]
            with log_path.open("wb") as handle:
                popen = subprocess.Popen(
                    [sys.executable, "-m", "tests.faults.receiver", "--port", str(port),
                     "--seed", str(self.seed * 10 + index), "--timeout", str(TIMEOUT), *args],
                    cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            receiver = ReceiverProc(spec, port, popen, log_path)
            self.receivers.append(receiver)
        for receiver in self.receivers:
            _wait_port(receiver.port, receiver.popen)

    def _wait_api(self) -> None:
        api = self.procs.started[0]
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.api_url}/healthz", timeout=2).status_code == 200:
                    return
            if not api.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{api.log()[-3000:]}")
            time.sleep(0.1)

    def running(self, command: str) -> list[Proc]:
        return [p for p in self.procs.started if p.name.startswith(command + "-") and p.alive()]

    def end(self, proc: Proc, kill: bool = True) -> None:
        """Stop `proc` on purpose: SIGKILL (a fault) or SIGTERM (the faults are over)."""
        self.ended.add(proc.name)
        if kill:
            proc.kill()
        else:
            proc.terminate()

    def supervise(self) -> None:
        """Restart a process that exited on its own, as `wg-webhooks up` or Kubernetes would;
        each such exit is counted (and fails the run: it is a crash)."""
        for proc in list(self.procs.started):
            if self.stopping:
                return
            if proc.alive() or proc.name in self.ended:
                continue
            self.ended.add(proc.name)
            self.crashed.append(f"{proc.name} exited with {proc.popen.returncode}")
            command = proc.name.rsplit("-", 1)[0]
            if command != "api":
                self.restart(command)

    def restart(self, command: str) -> None:
        """Start another `command` (worker, relay, collector), unless the run is stopping."""
        if self.stopping:
            return
        if command == "collector":
            self.start_collector()
        else:
            self.procs.start(command)

    def start_collector(self) -> Proc:
        return self.procs.start("collector", "--dump-file", str(self.dump_file))

    def logs(self) -> list[tuple[str, str]]:
        found = list(self.procs.logs())
        found += [
            (f"receiver-{r.spec.name}", r.log_path.read_text(errors="replace"))
            for r in self.receivers
        ]
        return found

    def stop(self) -> None:
        self.stopping = True  # the supervisor restarts nothing from here on
        with contextlib.suppress(AttributeError):
            self.procs.stop_all()
        for receiver in self.receivers:
            receiver.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                receiver.popen.wait(10)
        with contextlib.suppress(AttributeError):
            self.redis.stop()
        with contextlib.suppress(AttributeError):
            self.postgres.stop()


_READY = {"worker": " ready.", "relay": "relay started"}


class Supervisor(threading.Thread):
    def __init__(self, stack: Stack) -> None:
        super().__init__(name="supervisor", daemon=True)
        self.stack = stack
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.stack.supervise()

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def _wait_ready(procs: list[Proc]) -> None:
    deadline = time.monotonic() + 90
    for proc in procs:
        marker = _READY[proc.name.rsplit("-", 1)[0]]
        while marker not in proc.log():
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start:\n{proc.log()[-3000:]}")
            time.sleep(0.1)


def _wait_port(port: int, popen: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"receiver on port {port} did not start")
        time.sleep(0.05)
