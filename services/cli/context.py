"""Settings for a subcommand: the config plus the servers it should use (embedded if none)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from services import embedded
from services.cli.logging_setup import setup_logging
from services.config import Settings, load_settings
from services.db.namespace import in_schema

# Set by a process that checked the webhook hosts for the children it starts (`up`).
HOSTS_CHECKED = "WG_WEBHOOKS_HOSTS_CHECKED"


def load(config_path: str | None, *, resolve_hosts: bool = False) -> Settings:
    """The settings, with this process's logging set up from them; with `resolve_hosts` (the
    services that run) every webhook host name must resolve at start-up too, unless the parent
    already checked it (the check may log, so it runs once logging is set up)."""
    settings = load_settings(config_path)
    setup_logging(settings.advanced)
    if resolve_hosts and os.environ.get(HOSTS_CHECKED) != "1":
        load_settings(config_path, resolve_hosts=True)
        os.environ[HOSTS_CHECKED] = "1"
    if settings.source:
        # children (Celery, relay, sink) read the same file through the environment
        os.environ["WG_WEBHOOKS_CONFIG"] = str(Path(settings.source).absolute())
    return settings


def with_servers(settings: Settings) -> tuple[Settings, embedded.EmbeddedStack]:
    """Fill in embedded Postgres / Redis where no URL is configured; export the URLs (the
    database's bound to `database.schema`). The database note, if any, is the first note."""
    stack = embedded.ensure(settings.data_dir, settings.database_dsn, settings.redis_url)
    database_dsn = in_schema(stack.database_url, settings.database_schema)
    if settings.database_note:
        stack.notes.insert(0, settings.database_note)
    os.environ["DATABASE_URL"] = database_dsn
    os.environ["REDIS_URL"] = stack.redis_url
    return (
        dataclasses.replace(settings, database_dsn=database_dsn, redis_url=stack.redis_url),
        stack,
    )
