"""Closed-loop load on `POST /api/v1/peer/new`: N keep-alive connections, each sending its next
request when the previous answer arrived. Light on purpose (asyncio, raw HTTP/1.1): the client
shares the two cores with the server it measures."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.benchmarks.deploy import ADMIN_TOKEN, ADMIN_USER

INTERFACE = {
    "Identifier": "wg0",
    "DisplayName": "Office VPN",
    "Mode": "server",
    "PrivateKey": "EREREREREREREREREREREREREREREREREREREREREQE=",
    "PublicKey": "n6Cgqtn3YjXtBf5YW09Xyng0awWaykeVDxCYD/MNHBw=",
    "ListenPort": 51820,
    "Addresses": ["10.11.0.1/16"],
    "PeerDefNetwork": ["10.11.0.0/16"],
    "PeerDefAllowedIPs": ["10.11.0.0/16"],
    "PeerDefEndpoint": "vpn.example.com:51820",
}


def peer_body(n: int) -> bytes:
    key = base64.b64encode(os.urandom(32)).decode()
    return json.dumps(
        {
            "Identifier": key,
            "PublicKey": key,
            "DisplayName": f"bench peer {n}",
            "InterfaceIdentifier": "wg0",
            "Mode": "client",
            "Addresses": [f"10.11.{(n >> 8) & 255}.{n & 255}/32"],
            "Endpoint": {"Value": "vpn.example.com:51820", "Overridable": True},
            "AllowedIPs": {"Value": ["10.11.0.0/16"], "Overridable": True},
            "Dns": {"Value": ["1.1.1.1"], "Overridable": True},
            "PersistentKeepalive": {"Value": 25, "Overridable": True},
        }
    ).encode()


def _auth() -> str:
    return base64.b64encode(f"{ADMIN_USER}:{ADMIN_TOKEN}".encode()).decode()


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    seconds: float = 0.0
    next_index: int = 0  # where the next load's peer numbers start (addresses stay unique)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


async def request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    path: str,
    body: bytes,
    authorization: str = "",
) -> int:
    """One POST on a kept-alive connection; its status (the answer's body is read and dropped)."""
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {authorization or 'Basic ' + _auth()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    base: str, path: str, until: float, counter: list[int], result: LoadResult, limit: int
) -> None:
    parts = urlsplit(base)
    assert parts.hostname == "127.0.0.1"  # the network rule: loopback only
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        while time.monotonic() < until and counter[0] < limit:
            counter[0] += 1
            body = peer_body(counter[0])
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(
                    request(reader, writer, parts.netloc, path, body), timeout=30
                )
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                return
            if status == 200:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1
    finally:
        writer.close()


def closed_loop(
    base: str, seconds: float, connections: int = 8, limit: int = 100_000, first: int = 0
) -> LoadResult:
    """`connections` clients creating peers for `seconds` (at most `limit` requests in all)."""
    result = LoadResult()
    counter = [first]

    async def run() -> None:
        until = time.monotonic() + seconds
        began = time.monotonic()
        await asyncio.gather(
            *(
                _client(base, "/api/v1/peer/new", until, counter, result, first + limit)
                for _ in range(connections)
            )
        )
        result.seconds = time.monotonic() - began
        result.next_index = counter[0] + 1

    asyncio.run(run())
    return result


def create_interface(base: str) -> None:
    import requests

    answer = requests.post(
        base + "/api/v1/interface/new",
        json=INTERFACE,
        auth=(ADMIN_USER, ADMIN_TOKEN),
        timeout=30,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"could not create interface wg0: {answer.status_code} {answer.text}")
