"""Real `wg-webhooks` processes for one phase of a figure: workers, a relay, an API.

Started as an operator would (`python -m services.cli.main worker|relay|api`), against the
phase's own database; stopped with SIGKILL at the end (the database is thrown away) and Redis
flushed, so no message of one phase reaches the next.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.embedded import free_port
from tests.benchmarks.stack import Stack
from tests.support.processes import ROOT, Proc, Processes, write_config

ADMIN_USER = "admin@wgportal.local"
ADMIN_TOKEN = "bench-admin-token"


def endpoint(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": url, **extra}


def config(endpoints: list[dict[str, Any]], *, web_port: int = 0, **webhook: Any) -> dict[str, Any]:
    """A wg-portal style config: the webhook endpoints, the API's port, production defaults."""
    return {
        "core": {"admin_user": ADMIN_USER, "admin_api_token": ADMIN_TOKEN},
        "statistics": {"collect_peer_data": False},
        "web": {"listening_address": f"127.0.0.1:{web_port or free_port()}"},
        "webhook": {**webhook, "endpoints": endpoints},
    }


@dataclass(frozen=True)
class ApiSpec:
    """An API process: the real one (`wg-webhooks api`) or a module run with `python -m`."""

    cfg: dict[str, Any]
    module: str = ""

    @property
    def port(self) -> int:
        return int(self.cfg["web"]["listening_address"].rsplit(":", 1)[1])


def _start_module(procs: Processes, name: str, module: str, config_path: Path) -> Proc:
    log_path = procs.log_dir / f"{name}.log"
    with log_path.open("wb") as handle:
        popen = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**procs.env(), "WG_WEBHOOKS_CONFIG": str(config_path)},
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Proc(name, popen, log_path)
    procs.started.append(proc)
    return proc


@dataclass
class Deployment:
    procs: Processes
    workers: list[Proc] = field(default_factory=list)
    relays: list[Proc] = field(default_factory=list)
    apis: list[tuple[Proc, str]] = field(default_factory=list)

    def pids(self) -> dict[str, list[int]]:
        return {
            "worker": [p.popen.pid for p in self.workers],
            "relay": [p.popen.pid for p in self.relays],
            "api": [p.popen.pid for p, _ in self.apis],
        }


def _wait_log(proc: Proc, marker: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while marker not in proc.log():
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not start:\n{proc.log()[-3000:]}")
        time.sleep(0.05)


def _wait_http(proc: Proc, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not start:\n{proc.log()[-3000:]}")
        time.sleep(0.1)


@contextlib.contextmanager
def deployed(
    stack: Stack,
    database_url: str,
    log_dir: Path,
    cfg: dict[str, Any],
    *,
    workers: int = 2,
    relay: bool = True,
    apis: list[ApiSpec] | None = None,
    worker_args: tuple[str, ...] = (),
) -> Iterator[Deployment]:
    """APIs and workers (all ready), then the relay."""
    log_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    path = write_config(log_dir / "config.yaml", cfg)
    procs = Processes(path, database_url, stack.redis_url, log_dir)
    deployment = Deployment(procs)
    try:
        for index, spec in enumerate(apis or []):
            api_path = write_config(log_dir / f"api-{index}.yaml", spec.cfg)
            if spec.module:
                proc = _start_module(procs, f"api-{index}", spec.module, api_path)
            else:
                proc = procs.start("api", "--config", str(api_path))
            deployment.apis.append((proc, f"http://127.0.0.1:{spec.port}"))
        deployment.workers = [procs.start("worker", *worker_args) for _ in range(workers)]
        for proc in deployment.workers:
            _wait_log(proc, " ready.")
        for proc, url in deployment.apis:
            _wait_http(proc, int(url.rsplit(":", 1)[1]))
        if relay:
            deployment.relays.append(procs.start("relay"))
            _wait_log(deployment.relays[0], "relay started")
        say(f"  {log_dir.name}: processes ready in {time.monotonic() - began:.1f}s")
        began = time.monotonic()
        yield deployment
    finally:
        for proc in procs.started:
            proc.kill()
        stack.flush_redis()
        say(f"  {log_dir.name}: ran {time.monotonic() - began:.1f}s")


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)
