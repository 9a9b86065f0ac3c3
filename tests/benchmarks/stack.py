"""The servers of a benchmark run: embedded Postgres and Redis in a temporary folder.

Production-like on purpose: fsync and synchronous_commit stay on (the tests turn them off),
Redis keeps its append-only file. Each figure gets a database of its own, cloned from a
migrated template (or from a template that already holds its events).
"""

from __future__ import annotations

import os
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


STATEMENT_STATS = "WG_BENCH_STATEMENTS"  # set: Postgres keeps per-statement costs


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
            if os.environ.get(STATEMENT_STATS):  # the profile of docs/performance.md
                conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
                conn.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        stack.postgres.restart()
        migrate(stack.dsn(TEMPLATE))
        stack.redis_url = stack.redis_server.start(appendonly=True)
        return stack

    def statement_stats(self, database: str, top: int = 12) -> str:
        """The statements that cost `database` most (with WG_BENCH_STATEMENTS=1), as text."""
        if not os.environ.get(STATEMENT_STATS):
            return ""
        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            rows = conn.execute(
                "SELECT calls, round(total_exec_time::numeric, 1), round(total_plan_time::numeric"
                ", 1), rows, regexp_replace(left(query, 90), '\\s+', ' ', 'g')"
                " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
                " WHERE d.datname = %s ORDER BY total_exec_time + total_plan_time DESC LIMIT %s",
                (database, top),
            ).fetchall()
        lines = ["calls  exec_ms  plan_ms  rows  statement"]
        lines += [f"{c} {e} {p} {r} {q}" for c, e, p, r, q in rows]
        return "\n".join(lines)

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
