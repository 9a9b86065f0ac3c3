"""wg-webhooks keeps every table in its own schema (`database.schema`), so one Postgres database
can hold wg-portal's tables beside ours: an old install moves in losing nothing, another
application's `users`, `interfaces`, `peers` are never touched."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.cli import context
from services.config import Settings, load_settings
from services.db.migrate import available, migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema, schema_of
from tests.api.conftest import ADMIN
from tests.support.old_layout import blank_database, migrate_the_old_way

OUR_TABLES = (
    "users",
    "interfaces",
    "peers",
    "peer_status",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
    "webhook_endpoints",
)


@pytest.fixture
def blank_db(pg_admin_url: str) -> Iterator[str]:
    with blank_database(pg_admin_url) as url:
        yield url


OLD_ROWS = """
INSERT INTO users (identifier, email, is_admin, api_token) VALUES
    ('alice', 'alice@example.com', true, 'tok'), ('bob', 'bob@example.com', false, '');
INSERT INTO interfaces (identifier, type, private_key, public_key, listen_port, addresses)
    VALUES ('wg0', 'server', 'priv', 'pub', 51820, '{10.0.0.1/24}');
INSERT INTO peers (identifier, interface_identifier, user_identifier, addresses)
    VALUES ('peerkey', 'wg0', 'alice', '{10.0.0.2/32}');
INSERT INTO peer_status (peer_identifier, interface_identifier, is_connected, bytes_received)
    VALUES ('peerkey', 'wg0', true, 1234);
INSERT INTO webhook_events (event, entity, identifier, body) VALUES
    ('create', 'user', 'alice', '{"event":"create","entity":"user"}'),
    ('update', 'user', 'alice', '{"event":"update","entity":"user"}');
INSERT INTO webhook_deliveries (event_id, endpoint, ordering_key, status, attempts, delivered_at)
    VALUES (1, 'default', 'user:alice', 'delivered', 1, now()),
           (1, 'billing', 'user:alice', 'dead', 3, NULL),
           (2, 'default', 'user:alice', 'pending', 0, NULL);
INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, outcome)
    VALUES (1, now(), 12.5, 200, 'delivered'), (2, now(), 3.0, 500, 'dead');
INSERT INTO webhook_endpoints (name, disabled_reason) VALUES ('billing', 'failing');
"""


def rows(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of our tables in `schema`, as JSON objects in primary-key order."""
    return {
        table: [
            r[0] for r in conn.execute(f"SELECT to_jsonb(t) FROM {schema}.{table} t ORDER BY 1")
        ]
        for table in OUR_TABLES
    }


def tables_in(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    found = conn.execute(
        "SELECT relname::text FROM pg_class WHERE relnamespace = %s::regnamespace"
        " AND relkind = 'r'",
        (schema,),
    )
    return {r[0] for r in found}


def test_an_install_from_before_the_schema_moves_in_keeping_every_row(blank_db: str) -> None:
    migrate_the_old_way(blank_db, upto=3)
    with psycopg.connect(blank_db, autocommit=True) as conn:
        conn.execute(OLD_ROWS)
        before = rows(conn, "public")
    assert all(before.values())

    applied = migrate(in_schema(blank_db, DEFAULT_SCHEMA))

    assert [m.version for m in applied] == [m.version for m in available() if m.version > 3]
    with psycopg.connect(in_schema(blank_db, DEFAULT_SCHEMA), autocommit=True) as conn:
        after = rows(conn, DEFAULT_SCHEMA)
        # later migrations may add columns; every old column keeps its value
        assert {
            table: [
                {k: row[k] for k in old}
                for row, old in zip(after[table], before[table], strict=True)
            ]
            for table in OUR_TABLES
        } == before
        assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
        assert tables_in(conn, "public") == set()
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in available()]
        # the identity sequences moved with their tables: new rows continue the numbering
        new_id = conn.execute(
            "INSERT INTO webhook_events (event, entity, identifier, body)"
            " VALUES ('delete', 'user', 'bob', '{}') RETURNING id"
        ).fetchone()
        assert new_id == (3,)
    assert migrate(in_schema(blank_db, DEFAULT_SCHEMA)) == []


PORTAL_TABLES = """
CREATE TABLE users (identifier text PRIMARY KEY, email text, source text, is_admin boolean);
CREATE TABLE interfaces (identifier text PRIMARY KEY, listen_port integer);
CREATE TABLE peers (identifier text PRIMARY KEY, interface_identifier text, display_name text);
-- another tool's bookkeeping under the same name (golang-migrate's shape)
CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO users VALUES ('admin@wgportal.local', 'admin@wgportal.local', 'db', true);
INSERT INTO interfaces VALUES ('wg0', 51820);
INSERT INTO peers VALUES ('portalpeer', 'wg0', 'the portal''s peer');
INSERT INTO schema_migrations VALUES (7, false);
"""

PUBLIC_CATALOG = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' ORDER BY 1, 2
"""


def portal_state(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    return (
        conn.execute(PUBLIC_CATALOG).fetchall(),
        [
            conn.execute(f"SELECT to_jsonb(t) FROM public.{t} t ORDER BY 1").fetchall()
            for t in ("users", "interfaces", "peers", "schema_migrations")
        ],
    )


def test_another_applications_tables_are_left_untouched_by_migrate(blank_db: str) -> None:
    with psycopg.connect(blank_db, autocommit=True) as conn:
        conn.execute(PORTAL_TABLES)
        before = portal_state(conn)

    applied = migrate(in_schema(blank_db, DEFAULT_SCHEMA))

    assert [m.version for m in applied] == [m.version for m in available()]
    with psycopg.connect(blank_db, autocommit=True) as conn:
        assert portal_state(conn) == before
        assert set(OUR_TABLES) | {"schema_migrations"} <= tables_in(conn, DEFAULT_SCHEMA)


def _api(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    **sections: Any,
) -> requests.Session:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"}, **sections)
    url = api_url_factory(settings)
    session = requests.Session()
    session.auth = ADMIN
    session.headers["X-Base"] = url
    return session


def _create_user(session: requests.Session, identifier: str) -> None:
    answer = session.post(
        session.headers["X-Base"] + "/api/v1/user/new",
        json={"Identifier": identifier, "Email": f"{identifier}@example.com"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_wg_webhooks_works_beside_wg_portals_tables(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    plain = psycopg.conninfo.make_conninfo(database_url, options="")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(PORTAL_TABLES)
        before = portal_state(conn)
    session = _api(config_factory, api_url_factory)

    _create_user(session, "carol")

    with psycopg.connect(plain, autocommit=True) as conn:
        assert portal_state(conn) == before
        ours = conn.execute(f"SELECT identifier FROM {DEFAULT_SCHEMA}.users").fetchall()
        events = conn.execute(
            f"SELECT entity, identifier FROM {DEFAULT_SCHEMA}.webhook_events"
        ).fetchall()
    assert ours == [("carol",)]
    assert events == [("user", "carol")]


def test_a_schema_other_than_the_default_holds_everything(
    database_url: str,
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory(database={"schema": "hooks_two"})
    assert schema_of(settings.database_dsn) == "hooks_two"
    assert migrate(settings.database_dsn) != []
    session = _api(config_factory, api_url_factory, database={"schema": "hooks_two"})

    _create_user(session, "dave")

    with psycopg.connect(settings.database_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT current_schema()").fetchone() == ("hooks_two",)
        assert set(OUR_TABLES) <= tables_in(conn, "hooks_two")
        assert conn.execute("SELECT identifier FROM users").fetchall() == [("dave",)]
        assert conn.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)
        assert conn.execute(f"SELECT count(*) FROM {DEFAULT_SCHEMA}.users").fetchone() == (0,)


def test_a_wg_portal_config_with_sqlite_loads_and_start_up_says_which_postgres(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = (Path(__file__).parent / "fixtures" / "wg-portal-config.yml.sample").read_text()
    path = tmp_path / "config.yml"
    path.write_text(sample + "\ndatabase:\n  type: sqlite\n  dsn: data/sqlite.db\n")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("WG_WEBHOOKS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WG_WEBHOOKS_CONFIG", str(path))  # restored after the test

    settings, stack = context.with_servers(context.load(str(path)))

    assert schema_of(settings.database_dsn) == DEFAULT_SCHEMA
    assert (
        psycopg.conninfo.conninfo_to_dict(settings.database_dsn)["dbname"]
        == (psycopg.conninfo.conninfo_to_dict(database_url)["dbname"])
    )
    assert stack.notes == [
        "database.type is sqlite (wg-portal's own database): wg-webhooks keeps its tables in "
        f"Postgres, from DATABASE_URL, schema {DEFAULT_SCHEMA}"
    ]


def test_with_sqlite_and_no_database_url_wg_portals_dsn_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("database:\n  type: sqlite\n  dsn: data/sqlite.db\n  schema: hooks\n")

    settings = load_settings(str(path), env={})

    assert settings.database_dsn == ""  # the embedded Postgres
    assert settings.database_schema == "hooks"
    assert settings.database_note.endswith("from the embedded Postgres, schema hooks")


def test_a_role_without_create_on_the_database_migrates_into_a_schema_made_for_it(
    blank_db: str,
) -> None:
    role = f"wgw_r_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(blank_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")  # PUBLIC has no CREATE on a database
        conn.execute(f"CREATE SCHEMA {DEFAULT_SCHEMA} AUTHORIZATION {role}")
    try:
        as_role = in_schema(psycopg.conninfo.make_conninfo(blank_db, user=role), DEFAULT_SCHEMA)

        applied = migrate(as_role)

        assert [m.version for m in applied] == [m.version for m in available()]
        with psycopg.connect(as_role) as conn:
            assert set(OUR_TABLES) <= tables_in(conn, DEFAULT_SCHEMA)
    finally:
        with psycopg.connect(blank_db, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
