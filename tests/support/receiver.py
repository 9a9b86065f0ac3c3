"""A real HTTP receiver on 127.0.0.1 that records every request and answers as a test scripts it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    black_hole: bool = False  # accept, read the request, never answer
    reset: bool = False  # close the connection without an answer
    trickle: bool = False  # answer one byte every 0.2 s, never finishing the headers


Behaviour = Callable[["Receiver", Received], Reply]


class Receiver:
    """Records requests; `behaviour` decides each answer (default: 200 at once)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour: Behaviour = behaviour or (lambda _r, _q: Reply())
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.stop_event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                request = Received(self.path, dict(self.headers.items()), body, time.time())
                with receiver.lock:
                    receiver.requests.append(request)
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    reply = receiver.behaviour(receiver, request)
                    if reply.black_hole:
                        receiver.stop_event.wait(120)
                        self.close_connection = True
                        return
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.trickle:
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                            while not receiver.stop_event.wait(0.2):
                                self.wfile.write(b"a")
                                self.wfile.flush()
                        return
                    if reply.reset:
                        self.close_connection = True
                        self.connection.close()
                        return
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.json() for r in self.requests]

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
