"""Schema migrations: numbered SQL files applied in order, once, under an advisory lock.

Safe to run from many replicas at once: the lock makes them take turns, and each one skips what
another already applied. Each file runs in its own transaction with its bookkeeping row.

Everything, the bookkeeping included, lives in our own schema (`services.db.namespace`). An
install from before the schema existed kept its tables in `public`: its bookkeeping table is
recognised by its shape and its first row and moved first, then migration 004 moves the tables
that bookkeeping says we created. Nothing else in `public` is ever touched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

from services.db.namespace import DEFAULT_SCHEMA, in_schema, schema_of

log = logging.getLogger(__name__)

# An arbitrary constant: the key of the session-level advisory lock every migrator takes.
_LOCK_KEY = 0x5767_7768_6F6F_6B73 & 0x7FFF_FFFF_FFFF_FFFF
_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, by version."""
    found = []
    for item in resources.files("services.db.migrations").iterdir():
        match = _FILE.match(item.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), item.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def migrate(dsn: str) -> list[Migration]:
    """Apply pending migrations in the DSN's schema (`in_schema`; the default schema when the
    DSN is not bound to one); return the ones this call applied."""
    schema = schema_of(dsn) or DEFAULT_SCHEMA
    applied_now: list[Migration] = []
    with psycopg.connect(in_schema(dsn, schema), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_schema(conn, schema)
            _adopt_public_bookkeeping(conn, schema)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in available():
                if migration.version in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                log.info("applied migration %03d_%s", migration.version, migration.name)
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def _ensure_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the schema unless it exists: a role without CREATE on a shared database can use
    one its administrator made for it (CREATE SCHEMA IF NOT EXISTS would still need the right)."""
    found = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (schema,)).fetchone()
    if not (found and found[0]):
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


# The shape of the bookkeeping table every release before migration 004 made in `public`.
_PUBLIC_BOOKKEEPING_COLUMNS = """
SELECT array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = 'schema_migrations'
"""


def _adopt_public_bookkeeping(conn: psycopg.Connection[Any], schema: str) -> None:
    """Move an old install's `public.schema_migrations` into `schema`, when it is ours (its
    shape, and its first row naming our first migration) and the schema has none yet: migration
    004 then moves the tables that bookkeeping stands for, and only those."""
    row = conn.execute(
        "SELECT to_regclass(format('%%I.schema_migrations', %s::text)) IS NULL"
        " AND to_regclass('public.schema_migrations') IS NOT NULL",
        (schema,),
    ).fetchone()
    if row is None or not row[0]:
        return
    columns = conn.execute(_PUBLIC_BOOKKEEPING_COLUMNS).fetchone()
    if columns is None or columns[0] != ["version", "name", "applied_at"]:
        return
    first = available()[0]
    ours = conn.execute(
        "SELECT 1 FROM public.schema_migrations WHERE version = %s AND name = %s",
        (first.version, first.name),
    ).fetchone()
    if ours is None:
        return
    conn.execute(
        sql.SQL("ALTER TABLE public.schema_migrations SET SCHEMA {}").format(sql.Identifier(schema))
    )
    log.info("moved the migrations bookkeeping of an older install from public into %s", schema)
