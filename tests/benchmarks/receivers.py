"""Receiver processes (see receiver_server.py), started and read from the benchmark process."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from services.embedded import free_port
from tests.support.processes import ROOT


@dataclass
class ReceiverProcess:
    port: int
    popen: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _get(self, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def count(self) -> int:
        found: int = self._get("/stats")["count"]
        return found

    def max_in_flight(self) -> int:
        found: int = self._get("/stats")["max_in_flight"]
        return found

    def arrivals(self) -> tuple[list[str], list[float]]:
        data = self._get("/arrivals")
        return data["ids"], data["at"]

    def reset(self) -> None:
        self._get("/reset")

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def start_receiver(delay_ms: float = 0.0, black_hole: bool = False) -> ReceiverProcess:
    port = free_port()
    argv = [sys.executable, "-m", "tests.benchmarks.receiver_server", str(port), str(delay_ms)]
    if black_hole:
        argv.append("black-hole")
    popen = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)
    receiver = ReceiverProcess(port, popen)
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(OSError):
            receiver.count()
            return receiver
        if popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"receiver on port {port} did not start")
        time.sleep(0.05)


def wait_for_count(
    receivers: list[ReceiverProcess], total: int, timeout: float, interval: float = 0.1
) -> int:
    """Poll until the receivers together saw `total` POSTs, or `timeout` passed; the count."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = sum(r.count() for r in receivers)
        if seen >= total:
            return seen
        time.sleep(interval)
    return seen
