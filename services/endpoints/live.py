"""Each process's current endpoint set: the config file's, then the runtime ones from Postgres.

A relay or worker keeps one `LiveEndpoints` and calls `refresh` when it wakes (relay) or starts
a lease (worker): one read of the generation row, and a reload only when it moved. So a change
made through the API reaches every process without a restart, and a worker never POSTs for an
endpoint whose removal it could see when it took its lease.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from services.config import Endpoint, Settings
from services.domain.errors import Invalid
from services.endpoints import store


def current(conn: Connection[Any], settings: Settings) -> tuple[Endpoint, ...]:
    """The endpoints as of now (for one-off reads: the API, the CLI)."""
    return settings.webhook.endpoints + store.load(conn, settings).endpoints


def removed_endpoints(
    conn: Connection[Any], settings: Settings, names: Iterable[str]
) -> frozenset[str]:
    """Which of `names` (deliveries' endpoints) are no longer configured: removed ones."""
    known = {e.name for e in current(conn, settings)}
    return frozenset(name for name in names if name not in known)


def mark_removed(
    conn: Connection[Any], settings: Settings, deliveries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Deliveries' JSON with `EndpointRemoved`: they wait for an endpoint that is gone."""
    removed = removed_endpoints(conn, settings, {d["Endpoint"] for d in deliveries})
    for delivery in deliveries:
        delivery["EndpointRemoved"] = delivery["Endpoint"] in removed
    return deliveries


def require_known(conn: Connection[Any], settings: Settings, name: str, field: str) -> None:
    """`name` is a current endpoint (config or runtime), else Invalid naming `field`."""
    names = [e.name for e in current(conn, settings)]
    if name not in names:
        known = ", ".join(names) or "none"
        raise Invalid(f"{field}{name!r} is not configured (configured: {known})")


@dataclass(frozen=True)
class _Snapshot:
    generation: int
    endpoints: tuple[Endpoint, ...]
    by_name: dict[str, Endpoint] = field(default_factory=dict)


class LiveEndpoints:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        configured = settings.webhook.endpoints
        self._snapshot = _Snapshot(-1, configured, {e.name: e for e in configured})
        self._lock = threading.Lock()

    @property
    def all(self) -> tuple[Endpoint, ...]:
        return self._snapshot.endpoints

    @property
    def generation(self) -> int:
        return self._snapshot.generation

    def get(self, name: str) -> Endpoint | None:
        return self._snapshot.by_name.get(name)

    def refresh(self, conn: Connection[Any]) -> bool:
        """Reload if the runtime set changed since the last load; True if it did."""
        if store.generation(conn) == self._snapshot.generation:
            return False
        with self._lock:
            loaded = store.load(conn, self.settings)
            if loaded.generation == self._snapshot.generation:
                return False
            endpoints = self.settings.webhook.endpoints + loaded.endpoints
            self._snapshot = _Snapshot(loaded.generation, endpoints, {e.name: e for e in endpoints})
        return True
