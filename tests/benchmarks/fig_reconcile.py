"""Figure 14: a reconcile round at 10,000 peers, against the fake wg-portal API.

wg-portal (tests/support/fake_portal.py, wg-portal's JSON) holds 1,000 users, 10 interfaces and
10,000 peers. Measured on a fresh database, one endpoint configured (its deliveries are only
written, nothing is sent):
  baseline     the first `reconcile --baseline`: every entity adopted, no events
  unchanged    a round right after it: everything read and compared, nothing applied
  100 changed  a round after wg-portal changed 100 peers: 100 updates, each with its event
  fetch        reading the whole state from the API alone (part of every round above)

`python -m tests.benchmarks.fig_reconcile [--peers N]` runs it alone, on its own servers.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from typing import Any

from services.bridge import reconcile
from services.bridge.portal import PortalClient
from services.config import Settings, load_settings
from services.periodic import Status
from tests.benchmarks.run import Figure, Run
from tests.benchmarks.stack import Stack
from tests.support.fake_portal import API_TOKEN, API_USER, FakePortal, option

INTERFACES = 10
PEERS_PER_USER = 10


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def fill(portal: FakePortal, peers: int) -> list[str]:
    """wg-portal with `peers` peers over INTERFACES interfaces; returns the peers' keys."""
    for index in range(INTERFACES):
        portal.add_interface(
            f"wg{index}",
            DisplayName=f"site {index}",
            PrivateKey=_key(),
            PublicKey=_key(),
            ListenPort=51820 + index,
            Addresses=[f"10.{index}.0.1/16"],
            PeerDefNetwork=[f"10.{index}.0.0/16"],
            PeerDefEndpoint=f"vpn{index}.example.com:{51820 + index}",
        )
    keys = []
    for number in range(peers):
        if number % PEERS_PER_USER == 0:
            portal.add_user(f"user{number // PEERS_PER_USER}@example.com", Firstname="U")
        key = _key()
        interface = number % INTERFACES
        portal.add_peer(
            key,
            f"wg{interface}",
            DisplayName=f"peer {number}",
            UserIdentifier=f"user{number // PEERS_PER_USER}@example.com",
            PrivateKey=_key(),
            PresharedKey=_key(),
            Addresses=[f"10.{interface}.{number // 250 % 250}.{number % 250 + 2}/32"],
            Endpoint=option(f"vpn{interface}.example.com:{51820 + interface}", True),
            AllowedIPs=option([f"10.{interface}.0.0/16"], True),
            PersistentKeepalive=option(25, True),
        )
        keys.append(key)
    return keys


def _settings(dsn: str, portal: FakePortal) -> Settings:
    env = {
        "DATABASE_URL": dsn,
        "WG_PORTAL_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "WG_PORTAL_PORTAL_URL": portal.url,
        "WG_PORTAL_PORTAL_API_USER": API_USER,
        "WG_PORTAL_PORTAL_API_TOKEN": API_TOKEN,
    }
    return load_settings(None, env)


def _timed_round(settings: Settings, **kwargs: Any) -> tuple[float, reconcile.Outcome]:
    started = time.monotonic()
    run = reconcile.run_round(settings, **kwargs)
    seconds = time.monotonic() - started
    assert run.status is Status.DONE and run.result is not None, run
    return seconds, run.result


def measure(dsn: str, peers: int) -> dict[str, float]:
    portal = FakePortal()
    keys = fill(portal, peers)
    portal.start()
    try:
        settings = _settings(dsn, portal)
        client = PortalClient(settings.portal)
        started = time.monotonic()
        snapshot = client.fetch_snapshot()
        fetch = time.monotonic() - started
        client.close()
        assert len(snapshot.peers) == peers
        baseline, adopted = _timed_round(settings, baseline=True)
        assert adopted.differences["peer"] == peers and adopted.events == 0
        unchanged, same = _timed_round(settings)
        assert sum(same.differences.values()) == 0
        for key in keys[:100]:
            portal.change("peers", key, DisplayName="renamed")
        changed, updated = _timed_round(settings)
        assert updated.events == 100
    finally:
        portal.stop()
    return {
        "peers": peers,
        "fetch_s": round(fetch, 2),
        "baseline_s": round(baseline, 2),
        "unchanged_s": round(unchanged, 2),
        "changed_100_s": round(changed, 2),
    }


def figure_14(run: Run) -> Figure:
    peers = run.size(10_000, 1_000)
    data = measure(run.stack.database("f14"), peers)
    return run.add(
        Figure(
            14,
            f"reconcile round, {peers:,} peers",
            f"baseline {data['baseline_s']} s, unchanged {data['unchanged_s']} s, "
            f"100 changed {data['changed_100_s']} s (fetch {data['fetch_s']} s)",
            "reported",
            None,
            data,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.fig_reconcile")
    parser.add_argument("--peers", type=int, default=10_000)
    args = parser.parse_args(argv)
    stack = Stack.start()
    try:
        data = measure(stack.database("f14"), args.peers)
    finally:
        stack.stop()
    for name, value in data.items():
        print(f"{name:>14}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
