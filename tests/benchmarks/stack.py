"""The servers of a benchmark run: embedded Postgres and Redis in a temporary folder.

Production-like on purpose: fsync and synchronous_commit stay on (the tests turn them off),
Redis keeps its append-only file. Each figure gets a database of its own, cloned from a
migrated template (or from a template that already holds its events).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from services.db.migrate import migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema
from services.embedded import EmbeddedPostgres, EmbeddedRedis

TEMPLATE = "bench_template"


def with_database(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


@dataclass
class Stack:
    root: Path
    postgres: EmbeddedPostgres
    redis_server: EmbeddedRedis
    admin_dsn: str = ""
    redis_url: str = ""
    databases: list[str] = field(default_factory=list)

    @classmethod
    def start(cls) -> Stack:
        root = Path(tempfile.mkdtemp(prefix="wgw-bench-"))
        stack = cls(root, EmbeddedPostgres(root / "pgdata"), EmbeddedRedis(root / "redis"))
        stack.postgres.start()
        stack.admin_dsn = stack.postgres.admin_dsn()
        with psycopg.connect(stack.admin_dsn, autocommit=True) as conn:
            # several workers, relays and APIs run at once; durability settings stay as shipped
            conn.execute("ALTER SYSTEM SET max_connections = 200")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        stack.postgres.restart()
        migrate(stack.dsn(TEMPLATE))
        stack.redis_url = stack.redis_server.start(appendonly=True)
        return stack

    def dsn(self, database: str) -> str:
        """`database`'s DSN, bound to wg-webhooks' schema."""
        return in_schema(with_database(self.admin_dsn, database), DEFAULT_SCHEMA)

    def database(self, name: str, template: str = TEMPLATE) -> str:
        """A new database `name` cloned from `template`; its DSN."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self.databases.append(name)
        return self.dsn(name)

    def drop(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushall()
        finally:
            client.close()

    def postgres_pids(self) -> list[int]:
        """The postmaster and its backends (for CPU accounting)."""
        import psutil

        pid_file = self.root / "pgdata" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        return [postmaster.pid, *(c.pid for c in postmaster.children())]

    def redis_pid(self) -> int | None:
        process = self.redis_server.process
        return process.pid if process is not None else None

    def stop(self) -> None:
        self.redis_server.stop()
        self.postgres.stop()
        shutil.rmtree(self.root, ignore_errors=True)
