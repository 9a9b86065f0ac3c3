"""The schema that the migrations build is the schema `schema.sql` declares."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

import psycopg

from services.db.migrate import available, migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema

# Everything in our schema (the session's current_schema()) but the bookkeeping table, and
# everything in public: the declared schema has nothing there, so neither may the migrated one.
CATALOG = """
SELECT 'column', table_schema || '.' || table_name || '.' || column_name,
       data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '')
FROM information_schema.columns
WHERE table_schema IN (current_schema(), 'public') AND table_name <> 'schema_migrations'
UNION ALL
SELECT 'index', schemaname || '.' || indexname, indexdef FROM pg_indexes
WHERE schemaname IN (current_schema(), 'public') AND tablename <> 'schema_migrations'
UNION ALL
SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace::regnamespace::text IN (current_schema(), 'public')
  AND conrelid::regclass::text <> 'schema_migrations'
UNION ALL
SELECT 'options', relnamespace::regnamespace || '.' || relname,
       coalesce(array_to_string(reloptions, ','), '')
FROM pg_class WHERE relnamespace::regnamespace::text IN (current_schema(), 'public')
  AND relkind IN ('r', 'S', 'v', 'm') AND relname NOT LIKE 'schema_migrations%'
UNION ALL
SELECT 'view', schemaname || '.' || viewname, definition FROM pg_views
WHERE schemaname IN (current_schema(), 'public')
UNION ALL
SELECT 'function', pronamespace::regnamespace || '.' || proname, pg_get_function_arguments(oid)
FROM pg_proc WHERE pronamespace::regnamespace::text IN (current_schema(), 'public')
ORDER BY 1, 2, 3
"""


def _catalog(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(CATALOG).fetchall()


def _fresh(pg_admin_url: str) -> tuple[str, str]:
    name = f"wgw_m_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    info["dbname"] = name
    return name, in_schema(psycopg.conninfo.make_conninfo(**info), DEFAULT_SCHEMA)


def _drop(pg_admin_url: str, name: str) -> None:
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migrated_schema_equals_declared_schema(pg_admin_url: str) -> None:
    migrated_name, migrated = _fresh(pg_admin_url)
    declared_name, declared = _fresh(pg_admin_url)
    try:
        migrate(migrated)
        schema = resources.files("services.db").joinpath("schema.sql").read_text("utf-8")
        with psycopg.connect(declared, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {DEFAULT_SCHEMA}")
            conn.execute(schema.encode())
        assert _catalog(migrated) == _catalog(declared)
    finally:
        _drop(pg_admin_url, migrated_name)
        _drop(pg_admin_url, declared_name)


def test_migrate_twice_applies_nothing_the_second_time(database_url: str) -> None:
    assert migrate(database_url) == []
    with psycopg.connect(database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in available()]


def test_concurrent_migrators_apply_each_migration_once(pg_admin_url: str) -> None:
    import threading

    name, url = _fresh(pg_admin_url)
    try:
        results: list[int] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(len(migrate(url)))
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(results) == [0, 0, 0, len(available())]
    finally:
        _drop(pg_admin_url, name)
