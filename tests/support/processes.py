"""Real relay, worker (Celery) and API processes for tests, started like an operator would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from services.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, config: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout}s on SIGTERM") from None


@dataclass
class Processes:
    """Starts `wg-webhooks <command>` children with the test's servers and config."""

    config: Path
    database_url: str
    redis_url: str
    log_dir: Path
    started: list[Proc] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            WG_WEBHOOKS_CONFIG=str(self.config),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, command: str, *args: str) -> Proc:
        index = sum(1 for p in self.started if p.name.startswith(command))
        name = f"{command}-{index}"
        log_path = self.log_dir / f"{name}.log"
        handle = log_path.open("wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", command, *args],
            env=self.env(),
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def worker(self, *args: str) -> Proc:
        proc = self.start("worker", *args)
        deadline = time.monotonic() + 30
        while " ready." not in proc.log():
            if not proc.alive() or time.monotonic() > deadline:
                raise AssertionError(f"worker did not become ready:\n{proc.log()[-3000:]}")
            time.sleep(0.05)
        return proc

    def relay(self) -> Proc:
        proc = self.start("relay")
        deadline = time.monotonic() + 30
        while "relay started" not in proc.log():
            if not proc.alive() or time.monotonic() > deadline:
                raise AssertionError(f"relay did not start:\n{proc.log()[-3000:]}")
            time.sleep(0.05)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.alive():
                with contextlib.suppress(AssertionError):
                    proc.terminate(timeout=20)

    def logs(self) -> Iterator[tuple[str, str]]:
        for proc in self.started:
            yield proc.name, proc.log()


@dataclass
class FastReceiver:
    """tests.support.fast_receiver in its own process, recording every POST to a file."""

    port: int
    record: Path
    popen: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def received(self) -> list[tuple[str, dict[str, object]]]:
        import json

        lines = self.record.read_bytes().splitlines() if self.record.exists() else []
        out = []
        for line in lines:
            webhook_id, _, body = line.partition(b"\t")
            out.append((webhook_id.decode(), json.loads(body)))
        return out

    def count(self) -> int:
        return len(self.record.read_bytes().splitlines()) if self.record.exists() else 0

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(10)


def start_fast_receiver(record: Path, delay_ms: float = 0) -> FastReceiver:
    import urllib.request

    port = free_port()
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.fast_receiver",
            str(port),
            str(delay_ms),
            str(record),
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                popen.kill()
                raise AssertionError("fast receiver did not start") from None
            time.sleep(0.05)
    return FastReceiver(port, record, popen)
