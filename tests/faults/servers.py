"""The fault run's own Postgres and Redis, in a temp dir, with the knobs the faults need.

Postgres is `services.embedded.EmbeddedPostgres` (restarted with a fast shutdown), Redis is
`services.embedded.EmbeddedRedis` (killed and started again on the same socket).
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from services.db.migrate import migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema
from services.embedded import EmbeddedPostgres, EmbeddedRedis


@dataclass
class Postgres:
    root: Path
    server: EmbeddedPostgres = field(init=False)
    url: str = ""

    def start(self) -> str:
        self.server = EmbeddedPostgres(self.root / "pgdata")
        self.url = in_schema(self.server.start(), DEFAULT_SCHEMA)
        with psycopg.connect(self.server.admin_dsn(), autocommit=True) as conn:
            # No machine crash is simulated: fsync only costs time on a shared machine. A fast
            # shutdown (the fault here) flushes everything committed either way.
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET max_connections = 200")
        self.server.restart()  # max_connections needs one
        migrate(self.url)
        return self.url

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: open transactions roll back, every connection drops."""
        self.server.restart()

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Redis:
    """The embedded Redis (Unix socket, password, AOF on as production runs it, DESIGN §6). Its
    socket path depends only on its folder, so a killed Redis comes back where the workers and
    relays look for it."""

    root: Path
    server: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.server = EmbeddedRedis(self.root)

    @property
    def url(self) -> str:
        return self.server.url()

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process

    def start(self) -> str:
        """Start (again) on the same socket with the same password."""
        return self.server.start(appendonly=True)

    def kill(self) -> None:
        self.server.kill()

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=5)
        with contextlib.closing(client):
            client.flushall()

    def stop(self) -> None:
        self.server.stop()
