"""Databases as older releases left them, for the migrations' upgrade tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg

from services.db.migrate import available


@contextlib.contextmanager
def blank_database(pg_admin_url: str) -> Iterator[str]:
    """A new empty database (not migrated); its DSN, not bound to any schema. Dropped after."""
    name = f"wgw_s_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield psycopg.conninfo.make_conninfo(pg_admin_url, dbname=name)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate_the_old_way(url: str, upto: int) -> None:
    """What `migrate` did before migration 004: bookkeeping and tables in `public`."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in available():
            if migration.version > upto:
                break
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
