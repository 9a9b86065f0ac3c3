"""A load receiver in a process of its own: asyncio, HTTP/1.1 keep-alive, no framework.

It records the arrival time of every POST with its `webhook-id`, so latency is measured where
the webhook lands. `python -m tests.benchmarks.receiver_server PORT [DELAY_MS] [black-hole]`:
answers 200 after DELAY_MS, or never (black hole: reads the request, keeps the connection open).
`GET /stats` answers `{"count", "max_in_flight"}`, `GET /arrivals` `{"ids": [...], "at": [...]}`
(Unix seconds), `GET /reset` forgets everything.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class _Recorder:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.at: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


def _header(head_lower: bytes, name: bytes) -> bytes:
    start = head_lower.find(b"\r\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 3
    end = head_lower.find(b"\r\n", start)
    return head_lower[start : end if end >= 0 else len(head_lower)].strip()


class _Http(asyncio.Protocol):
    def __init__(self, recorder: _Recorder, delay: float, black_hole: bool) -> None:
        self.recorder = recorder
        self.delay = delay
        self.black_hole = black_hole
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = int(_header(head, b"content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            self._handle(head)

    def _handle(self, head: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"get "):
            self._answer_get(head.split(b" ", 2)[1])
            return
        rec = self.recorder
        rec.at.append(time.time())
        rec.ids.append(_header(head, b"webhook-id").decode())
        if self.black_hole:
            return
        rec.in_flight += 1
        rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._ok)
        else:
            self._ok()

    def _ok(self) -> None:
        self.recorder.in_flight -= 1
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_OK)

    def _answer_get(self, path: bytes) -> None:
        assert self.transport is not None
        rec = self.recorder
        if path == b"/arrivals":
            body = json.dumps({"ids": rec.ids, "at": rec.at}).encode()
        elif path == b"/reset":
            rec.reset()
            body = b"{}"
        else:
            body = json.dumps({"count": len(rec.at), "max_in_flight": rec.max_in_flight}).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, delay: float, black_hole: bool) -> None:
    recorder = _Recorder()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Http(recorder, delay, black_hole), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    delay_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    asyncio.run(serve(int(sys.argv[1]), delay_ms / 1000, "black-hole" in sys.argv[3:]))
