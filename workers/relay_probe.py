"""The relay's liveness probe: `GET /livez` on `--probe HOST:PORT` (for Kubernetes' httpGet).

The relay's loop beats at every round (a claim, a wait of at most webhook.poll_interval, or a
retry while the database is away: a relay waiting for Postgres is alive, restarting it would not
help). The probe answers 200 while the last beat is recent and 503 once the loop has been stuck
for longer than `max_age` (a hung connection, a deadlock): then the kubelet restarts the relay.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_AGE = 60.0  # seconds without a beat before the relay counts as stuck


class Heartbeat:
    def __init__(self) -> None:
        self.last = time.monotonic()

    def beat(self) -> None:
        self.last = time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.last


def serve_probe(
    host: str, port: int, heartbeat: Heartbeat, max_age: float = MAX_AGE
) -> ThreadingHTTPServer:
    """Answer GET /livez from a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/livez":
                self._answer(404, "not found\n")
                return
            age = heartbeat.age()
            if age > max_age:
                self._answer(503, f"relay loop stuck for {age:.0f}s\n")
            else:
                self._answer(200, "ok\n")

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args  # a probe every few seconds is not news

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="relay probe").start()
    return server
