"""A fast receiver for load: asyncio, minimal HTTP/1.1 with keep-alive, one process of its own.

The threaded `Receiver` costs ~1 ms of CPU per request in the test process; for throughput
runs the receiver must not be the bottleneck. Run it as `python -m tests.support.fast_receiver
PORT [DELAY_MS] [RECORD_FILE]`; `GET /count` answers the number of POSTs seen, `GET /max` the
most in flight. With RECORD_FILE, every POST is appended as one line: `webhook-id<TAB>body`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


class _State:
    record: Any = None
    count = 0
    in_flight = 0
    max_in_flight = 0


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            webhook_id = b""
            for line in head.split(b"\r\n"):
                lower = line[:15].lower()
                if lower == b"content-length:":
                    length = int(line[15:].strip())
                elif lower.startswith(b"webhook-id:"):
                    webhook_id = line[11:].strip()
            request_body = await reader.readexactly(length) if length else b""
            if _State.record is not None and head.startswith(b"POST"):
                _State.record.write(webhook_id + b"\t" + request_body + b"\n")
            if head.startswith(b"GET /count"):
                body = str(_State.count).encode()
            elif head.startswith(b"GET /max"):
                body = str(_State.max_in_flight).encode()
            else:
                _State.count += 1
                _State.in_flight += 1
                _State.max_in_flight = max(_State.max_in_flight, _State.in_flight)
                if delay:
                    await asyncio.sleep(delay)
                _State.in_flight -= 1
                body = b""
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def serve(port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, delay), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 3:
        _State.record = open(sys.argv[3], "ab", buffering=0)  # noqa: SIM115  (lives as long as we do)
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0))
