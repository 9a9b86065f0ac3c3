"""A misbehaving webhook receiver for fault runs: its own process, asyncio, 127.0.0.1 only.

Each POST draws one behaviour (seeded): answer 500, sleep 0-3 s before a 200, reset the
connection, trickle the status line one byte a second, or send a 50 MB body; otherwise 200 at
once. `GET /control/heal` switches every fault off (the run's "faults stopped" phase); `GET
/control/log` answers every request seen as JSON lines, in the order the answers were given.

    python -m tests.faults.receiver --port P --seed S --timeout 2 --p500 0.3 --pbig 0.01 ...

A record is `[seq, webhook_id, entity, identifier, kind, late]`. `kind` is what the receiver
did: `ok`, `slow` (a 200 after a delay), `big` (a 200 with a 50 MB body) or the failures `500`,
`reset`, `trickle`. `late` marks a 200 sent after the sender's total timeout (it gave up first,
so it will try again: a duplicate by design, not by a crash).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass

BIG_BODY = 50 * 1024 * 1024
_CHUNK = b"x" * 65536
# A 200 sent this close to the sender's deadline may or may not beat it: count it as late.
LATE_MARGIN = 0.5


@dataclass
class Faults:
    p500: float = 0.0
    pslow: float = 0.0
    preset: float = 0.0
    ptrickle: float = 0.0
    pbig: float = 0.0
    max_delay: float = 3.0

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        for kind, p in (
            ("500", self.p500),
            ("slow", self.pslow),
            ("reset", self.preset),
            ("trickle", self.ptrickle),
            ("big", self.pbig),
        ):
            if roll < p:
                return kind
            roll -= p
        return "ok"


class Receiver:
    def __init__(self, faults: Faults, seed: int, timeout: float) -> None:
        self.faults = faults
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.healthy = False
        self.records: list[tuple[int, str, str, str, str, bool]] = []

    def record(self, webhook_id: str, body: bytes, kind: str, late: bool = False) -> None:
        try:
            envelope = json.loads(body)
            entity, identifier = str(envelope["entity"]), str(envelope["identifier"])
        except (ValueError, KeyError, TypeError):
            entity, identifier = "?", "?"
        self.records.append((len(self.records), webhook_id, entity, identifier, kind, late))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        length, webhook_id = 0, ""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value.strip())
            elif lowered == b"webhook-id":
                webhook_id = value.strip().decode("ascii", errors="replace")
        body = await reader.readexactly(length) if length else b""
        if head.startswith(b"GET /control/"):
            return await self._control(head, writer)
        kind = "ok" if self.healthy else self.faults.draw(self.rng)
        if kind == "500":
            self.record(webhook_id, body, kind)
            await _answer(writer, 500, b"oops")
            return True
        if kind == "reset":
            self.record(webhook_id, body, kind)
            _reset(writer)
            return False
        if kind == "trickle":
            self.record(webhook_id, body, kind)
            await _trickle(writer)
            return False
        if kind == "big":
            self.record(webhook_id, body, kind)
            await _big(writer)
            return False
        late = False
        if kind == "slow":
            delay = self.rng.uniform(0.0, self.faults.max_delay)
            late = delay > self.timeout - LATE_MARGIN
            await asyncio.sleep(delay)
        self.record(webhook_id, body, kind, late)
        await _answer(writer, 200, b"ok")
        return True

    async def _control(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"GET /control/heal"):
            self.healthy = True
            await _answer(writer, 200, b"healed")
        elif head.startswith(b"GET /control/log"):
            text = "\n".join(json.dumps(r) for r in self.records)
            await _answer(writer, 200, text.encode())
        else:
            await _answer(writer, 404, b"no such control")
        return True


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _trickle(writer: asyncio.StreamWriter) -> None:
    """The status line one byte a second: the sender's total timeout must cut it."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"a" * 60:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1.0)
    writer.close()


async def _big(writer: asyncio.StreamWriter) -> None:
    """A 200 with a 50 MB body; the sender reads 4 KiB and hangs up, which ends this."""
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {BIG_BODY}\r\n\r\n".encode())
    sent = 0
    while sent < BIG_BODY:
        writer.write(_CHUNK)
        await writer.drain()
        sent += len(_CHUNK)
    writer.close()


async def serve(port: int, receiver: Receiver) -> None:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, required=True, help="the sender's timeout")
    for name in ("p500", "pslow", "preset", "ptrickle", "pbig"):
        parser.add_argument(f"--{name}", type=float, default=0.0)
    parser.add_argument("--max-delay", type=float, default=3.0)
    args = parser.parse_args(argv)
    faults = Faults(args.p500, args.pslow, args.preset, args.ptrickle, args.pbig, args.max_delay)
    print(f"receiver on 127.0.0.1:{args.port}: {faults}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, Receiver(faults, args.seed, args.timeout)))


if __name__ == "__main__":
    main()
