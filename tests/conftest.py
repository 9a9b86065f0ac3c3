"""Real services for every test: Postgres and Redis started once per session (embedded, or
TEST_DATABASE_URL / TEST_REDIS_URL), a fresh database per test cloned from a migrated template,
and Redis flushed around each test. Integration prerequisites never skip silently in CI."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import yaml

from services.config import Settings, load_settings
from services.db.migrate import migrate
from services.db.namespace import DEFAULT_SCHEMA, in_schema
from services.embedded import free_port
from tests.support.processes import Processes
from tests.support.receiver import Behaviour, Receiver

TEMPLATE = "wgw_template"
IN_CI = bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# Servers (session)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The server the tests use: TEST_DATABASE_URL (any server; an admin connection), else a
    throw-away cluster of the distribution's PostgreSQL TEST_POSTGRES (e.g. 15), else the
    embedded PostgreSQL 18."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    if version := os.environ.get("TEST_POSTGRES"):
        from tests.support.throwaway_postgres import ThrowawayPostgres, bin_dir

        if not (bin_dir(version) / "initdb").exists():
            skip_or_fail(
                f"PostgreSQL {version} is not installed (apt-get install postgresql-{version})"
            )
        cluster = ThrowawayPostgres.start(version)
        yield cluster.admin_dsn()
        cluster.stop()
        return
    from services.embedded import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="wgw-test-pg-"))
    server = EmbeddedPostgres(root / "pgdata")
    server.start()
    admin = server.admin_dsn()
    with psycopg.connect(admin, autocommit=True) as conn:
        # Tests need no durability across a machine crash; fsync only slows them down.
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        conn.execute("ALTER SYSTEM SET max_connections = 300")
        conn.execute("SELECT pg_reload_conf()")
    server.restart()  # max_connections needs a restart
    yield server.admin_dsn()
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def _with_database(url: str, database: str) -> str:
    """The DSN of `database`, bound to wg-webhooks' schema as every process of ours binds it."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = database
    return in_schema(psycopg.conninfo.make_conninfo(**info), DEFAULT_SCHEMA)


@pytest.fixture(scope="session")
def template_url(pg_admin_url: str) -> str:
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = _with_database(pg_admin_url, TEMPLATE)
    migrate(url)
    return url


@pytest.fixture
def database_url(pg_admin_url: str, template_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test alone."""
    name = f"wgw_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    yield _with_database(pg_admin_url, name)
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    from services.embedded import EmbeddedRedis

    root = Path(tempfile.mkdtemp(prefix="wgw-test-redis-"))
    server = EmbeddedRedis(root / "redis")
    url = server.start(appendonly=False)
    yield url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    yield redis_server_url
    client.flushall()
    client.close()


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test's database, for assertions and set-up."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


# ---------------------------------------------------------------------------------------------
# Receivers, config, processes
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(behaviour: Behaviour | None = None) -> Receiver:
        receiver = Receiver(behaviour)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(receiver_factory: Callable[..., Receiver]) -> Receiver:
    return receiver_factory()


FAST_WEBHOOK = {
    "timeout": "5s",
    "retry_schedule": ["200ms", "200ms", "200ms"],
    "lease_grace": "2s",
    "poll_interval": "200ms",
}


@pytest.fixture
def config_factory(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Path, Settings]]:
    """Write a config file (wg-portal layout) and load it as the processes will."""

    def make(webhook: dict[str, Any] | None = None, **sections: Any) -> tuple[Path, Settings]:
        config: dict[str, Any] = {
            "core": {"admin_user": "admin@wgportal.local", "admin_api_token": "test-admin-token"},
            "webhook": {**FAST_WEBHOOK, **(webhook or {})},
        }
        config.update(sections)
        path = tmp_path / f"config-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("REDIS_URL", redis_url)
        return path, load_settings(str(path))

    return make


@pytest.fixture
def processes_factory(
    tmp_path: Path, database_url: str, redis_url: str
) -> Iterator[Callable[[Path], Processes]]:
    made: list[Processes] = []

    def make(config: Path) -> Processes:
        log_dir = tmp_path / f"logs-{len(made)}"
        log_dir.mkdir()
        procs = Processes(config, database_url, redis_url, log_dir)
        made.append(procs)
        return procs

    yield make
    for procs in made:
        procs.stop_all()
    for procs in made:
        for name, text in procs.logs():
            assert "Traceback" not in text, f"unhandled exception in {name}:\n{text[-4000:]}"


@pytest.fixture
def api_url_factory() -> Iterator[Callable[..., str]]:
    """The real API (uvicorn) on a free loopback port, in this process, for the given settings."""

    import uvicorn

    from services.api.app import create_app

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def make(settings: Settings, wrap: Callable[[Any], Any] | None = None) -> str:
        """`wrap`: an ASGI middleware around the app (e.g. one recording every response)."""
        port = free_port()
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(
                wrap(app) if wrap else app, host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise AssertionError("API did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield make
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
