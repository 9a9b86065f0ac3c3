"""A collector on the test's database, fed dump files written by the test, with a test clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.collector.loop import Collector
from services.collector.source import DumpFile
from services.config import Endpoint, Settings, Statistics, Webhook
from services.db.pool import make_pool

WG0_PRIVATE = "iOARchpBdKaqcGv94aw7k3NsAmeoWjTGi74h5ZNxgcA="
WG0_PUBLIC = "i44szXCiwkHGZZlSDq3/hKKvTwzIXoUFnhTz8PrQw+M="
WG1_PRIVATE = "scK/1Yhcgq/4edWGm1kcfWUulxNQY1llOeG45xHxWRE="
WG1_PUBLIC = "wPD6x5sVJJw0bjIH49JbTYGZLV9q6jkiZIeHWi0b7Aw="
# The peer of the reference's example payload.
ALICE = "Fb5TaziAs1WrPBjC/MFbWsIelVXvi0hDKZ3YQM9wmU8="
BOB = "cTH9oaAzN8Z1fHkN1nukTjRtGXWjBOnjJOu8yyX1IsE="
CAROL = "JSc2PtVe3oDBSXG09XuDC6ims8sM+jbJVurFUoRIz68="
REKEY = 180.0


def tsv(*fields: object) -> str:
    return "\t".join(str(f) for f in fields)


@dataclass(frozen=True)
class Seen:
    """One peer line of a dump."""

    key: str
    handshake: datetime | None
    rx: int = 0
    tx: int = 0
    endpoint: str | None = "10.55.66.77:33874"
    interface: str = "wg0"


def dump_text(*peers: Seen, interfaces: tuple[str, ...] = ("wg0",)) -> str:
    """`wg show all dump` output, shaped as wireguard-tools prints it."""
    keys = {"wg0": (WG0_PRIVATE, WG0_PUBLIC), "wg1": (WG1_PRIVATE, WG1_PUBLIC)}
    lines: list[str] = []
    for name in interfaces:
        private, public = keys.get(name, (WG1_PRIVATE, WG1_PUBLIC))
        lines.append(tsv(name, private, public, 51820, "off"))
        for peer in (p for p in peers if p.interface == name):
            lines.append(
                tsv(
                    name,
                    peer.key,
                    "(none)",
                    peer.endpoint or "(none)",
                    "10.11.12.2/32",
                    int(peer.handshake.timestamp()) if peer.handshake else 0,
                    peer.rx,
                    peer.tx,
                    "off",
                )
            )
    return "\n".join(lines) + "\n"


def add_interface(db: psycopg.Connection[Any], name: str = "wg0") -> None:
    private, public = (WG0_PRIVATE, WG0_PUBLIC) if name == "wg0" else (WG1_PRIVATE, WG1_PUBLIC)
    db.execute(
        "INSERT INTO interfaces (identifier, type, private_key, public_key, display_name)"
        " VALUES (%s, 'server', %s, %s, %s)",
        (name, private, public, f"{name} server"),
    )


def add_peer(db: psycopg.Connection[Any], key: str, interface: str = "wg0") -> None:
    db.execute(
        "INSERT INTO peers (identifier, interface_identifier, display_name, addresses,"
        " allowed_ips, user_identifier, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            key,
            interface,
            "alice's laptop",
            ["10.11.12.2/32"],
            ["10.11.12.0/24"],
            "alice@example.com",
            datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
            datetime(2025, 6, 2, 11, 30, tzinfo=UTC),
        ),
    )


def events(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every recorded webhook body, in id order, parsed with its key order kept."""
    rows = db.execute("SELECT body FROM webhook_events ORDER BY id").fetchall()
    return [json.loads(body) for (body,) in rows]


def bodies(db: psycopg.Connection[Any]) -> list[str]:
    return [body for (body,) in db.execute("SELECT body FROM webhook_events ORDER BY id")]


def status(db: psycopg.Connection[Any], key: str) -> dict[str, Any] | None:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT * FROM peer_status WHERE peer_identifier = %s", (key,)
        ).fetchone()


def settings_for(
    *, grace: float = 0.0, state_format: str = "peer", include_secrets: bool = False
) -> Settings:
    return Settings(
        statistics=Statistics(data_collection_interval=0.05, disconnect_grace=grace),
        webhook=Webhook(
            endpoints=(Endpoint(name="default", url="http://127.0.0.1:9/hook"),),
            peer_state_format=state_format,
            include_secrets=include_secrets,
        ),
        rekey_timeout_interval=REKEY,
    )


@dataclass
class Host:
    """One WireGuard host's collector: the dump file it reads and the clock it reads it at."""

    pool: ConnectionPool[Any]
    dump_path: Path
    settings: Settings = field(default_factory=settings_for)
    now: datetime = datetime(2025, 6, 26, 21, 4, 40, tzinfo=UTC)
    collector: Collector | None = None

    def new_collector(self) -> Collector:
        """A fresh collector process (nothing kept in memory from the previous one)."""
        self.collector = Collector(
            self.settings, self.pool, DumpFile(self.dump_path), clock=lambda: self.now
        )
        return self.collector

    def observe(self, *peers: Seen, interfaces: tuple[str, ...] = ("wg0",)) -> Any:
        self.dump_path.write_text(dump_text(*peers, interfaces=interfaces))
        return self.cycle()

    def cycle(self) -> Any:
        collector = self.collector or self.new_collector()
        return collector.cycle()


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    pool = make_pool(database_url, min_size=1, max_size=4, name="collector-test")
    pool.open(wait=True)
    yield pool
    pool.close()


@pytest.fixture
def host_factory(pool: ConnectionPool[Any], tmp_path: Path) -> Callable[..., Host]:
    made = 0

    def make(**settings: Any) -> Host:
        nonlocal made
        made += 1
        return Host(pool, tmp_path / f"host{made}.dump", settings_for(**settings))

    return make


@pytest.fixture
def host(host_factory: Callable[..., Host]) -> Host:
    return host_factory()


@pytest.fixture
def berlin_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time as in the reference's example (+02:00 in June), so payloads are golden."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def later(host: Host, seconds: float) -> None:
    host.now = host.now + timedelta(seconds=seconds)
