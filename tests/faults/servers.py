"""The fault run's own Postgres and Redis, in a temp dir, with the knobs the faults need.

Postgres is `services.embedded.EmbeddedPostgres` (restarted with a fast shutdown). Redis is the
binary `services.embedded` uses, started here on a fixed port so that a killed Redis comes back
where the workers and relays look for it (`EmbeddedRedis` picks a new port when restarted).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from services.db.migrate import migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema
from services.embedded import EmbeddedPostgres, free_port, redis_server_binary


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
    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start (again) on the same port; AOF on, as production runs it (DESIGN §6)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        args = [
            str(redis_server_binary()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.root),
            "--save", "",
            "--appendonly", "yes",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Redis did not start on port {self.port}")
            time.sleep(0.05)
        return self.url

    def answers(self) -> bool:
        try:
            client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
            with contextlib.closing(client):
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def flush(self) -> None:
        client = redis.Redis(port=self.port, socket_timeout=5)
        with contextlib.closing(client):
            client.flushall()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
