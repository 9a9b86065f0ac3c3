"""API callers: entity changes through the REST API v1, as wg-portal's clients make them.

Each caller retries a 503 after its `Retry-After` (what the API answers while Postgres is
down) and counts everything else it sees: a 500, a 503 without `Retry-After` or no answer at
all is a failure of the run. A create retried after a 503 may find that its first try
committed after all (409): that is counted as `ambiguous`, not as a failure.

The callers speak `http.client` on one keep-alive connection each: `requests` costs ~2 ms of
CPU per call, and this machine's two cores are shared with everything under test.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

MAX_TRIES = 120  # a 503 is retried after Retry-After (1 s): two minutes at most per change
WG0 = "wg0"


@dataclass
class ApiCounts:
    ok: int = 0
    retried_503: int = 0  # 503 with Retry-After, retried
    ambiguous: int = 0  # a create retried after a 503 that found its first try committed
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, kind: str, example: str) -> None:
        with self.lock:
            self.failures[kind] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{kind}: {example[:300]}")

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


def keypair() -> tuple[str, str]:
    """A WireGuard key pair (Curve25519), base64 like `wg genkey | wg pubkey`."""
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw_private).decode(), base64.b64encode(raw_public).decode()


class Caller:
    """One client's keep-alive connection; `change` sends until an answer that is not a 503."""

    def __init__(self, api_url: str, auth: tuple[str, str], counts: ApiCounts) -> None:
        parts = urlsplit(api_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {
            "Authorization": "Basic " + base64.b64encode(":".join(auth).encode()).decode(),
            "Content-Type": "application/json",
        }
        self.counts = counts
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def _send(self, method: str, path: str, body: bytes) -> tuple[int, str, str]:
        """One request; a keep-alive connection the server closed meanwhile is re-opened once
        (the request never reached the server, so sending it again is no double change)."""
        for attempt in (1, 2):
            try:
                self.conn.request(method, "/api/v1" + path, body=body, headers=self.headers)
                answer = self.conn.getresponse()
                text = answer.read().decode("utf-8", errors="replace")
                return answer.status, answer.getheader("Retry-After") or "", text
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("not reached")

    def change(self, method: str, path: str, body: dict[str, Any]) -> bool:
        data = json.dumps(body).encode()
        saw_503 = False
        for _ in range(MAX_TRIES):
            try:
                status, retry_after, text = self._send(method, path, data)
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                self.counts.fail("no answer", f"{method} {path}: {type(exc).__name__}: {exc}")
                return False
            if status == 200:
                self.counts.add("ok")
                return True
            if status == 503:
                if not retry_after.isdigit():
                    self.counts.fail("503 without Retry-After", f"{method} {path}: {text}")
                    return False
                self.counts.add("retried_503")
                saw_503 = True
                time.sleep(min(float(retry_after), 5.0))
                continue
            if status == 409 and saw_503 and method == "POST":
                self.counts.add("ambiguous")
                return True
            kind = "500" if status == 500 else str(status)
            self.counts.fail(kind, f"{method} {path}: {text}")
            return False
        self.counts.fail("gave up", f"{method} {path}: 503 for {MAX_TRIES} tries")
        return False

    def close(self) -> None:
        self.conn.close()


def user_body(identifier: str, seq: int) -> dict[str, Any]:
    return {
        "Identifier": identifier,
        "Email": identifier,
        "Firstname": "Fault",
        "Lastname": f"Run {seq}",
        "Notes": f"change {seq}",
    }


def peer_body(interface_public: str, private: str, public: str, index: int) -> dict[str, Any]:
    return {
        "Identifier": public,
        "DisplayName": f"fault peer {index}",
        "InterfaceIdentifier": WG0,
        "PrivateKey": private,
        "PublicKey": public,
        "Mode": "client",
        "Addresses": [f"10.11.{index // 250}.{index % 250 + 2}/32"],
        "EndpointPublicKey": {"Value": interface_public, "Overridable": True},
        "AllowedIPs": {"Value": ["10.11.0.0/16"], "Overridable": True},
    }


def make_peers(caller: Caller, count: int) -> tuple[tuple[str, str], list[str]]:
    """wg0 and `count` peers on it: the interface's key pair and the peers' public keys."""
    iface_private, iface_public = keypair()
    caller.change(
        "POST",
        "/interface/new",
        {
            "Identifier": WG0,
            "DisplayName": "fault run",
            "Mode": "server",
            "PrivateKey": iface_private,
            "PublicKey": iface_public,
            "ListenPort": 51820,
            "Addresses": ["10.11.0.1/16"],
        },
    )
    publics = []
    for index in range(count):
        private, public = keypair()
        if caller.change("POST", "/peer/new", peer_body(iface_public, private, public, index)):
            publics.append(public)
    return (iface_private, iface_public), publics


def user_changes(total: int, clients: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """Per client: its own users (each created first), then updates of them in random order.

    ~40 changes per user, so the order check sees long per-identifier sequences.
    """
    users = max(clients, total // 40)
    plans: list[list[tuple[str, str]]] = [[] for _ in range(clients)]
    owned: list[list[str]] = [[] for _ in range(clients)]
    for index in range(users):
        name = f"user{index:05d}@faults.test"
        owned[index % clients].append(name)
        plans[index % clients].append(("POST", name))
    for index in range(max(0, total - users)):
        client = index % clients
        plans[client].append(("PUT", rng.choice(owned[client])))
    return plans


def run_clients(
    api_url: str,
    auth: tuple[str, str],
    plans: list[list[tuple[str, str]]],
    counts: ApiCounts,
    progress: Callable[[], None],
    stop: threading.Event,
) -> None:
    """Send every planned change, one thread per client; returns when all are done (or the
    run's deadline set `stop`)."""

    def client(plan: list[tuple[str, str]]) -> None:
        caller = Caller(api_url, auth, counts)
        try:
            for seq, (method, identifier) in enumerate(plan):
                if stop.is_set():
                    return
                path = "/user/new" if method == "POST" else f"/user/by-id/{quote(identifier)}"
                caller.change(method, path, user_body(identifier, seq))
                progress()
        finally:
            caller.close()

    threads = [threading.Thread(target=client, args=(plan,), daemon=True) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
