"""`wg-webhooks endpoints add|update|rotate-secret|remove|list`, run as the real console script
beside a database, the way an operator manages endpoints on a running cluster."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from services.config import Settings
from tests.operations.cli import wg_webhooks


def _one(db: psycopg.Connection[Any], sql: str) -> Any:
    row = db.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_add_update_rotate_remove_with_one_command_each(
    db: psycopg.Connection[Any], config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    config, _ = config_factory(
        {"endpoints": [{"name": "billing", "url": "http://127.0.0.1:9/billing"}]}
    )
    added = wg_webhooks(
        config,
        "endpoints",
        "add",
        "crm",
        "--url",
        "http://127.0.0.1:9/crm",
        "--event",
        "create",
        "--header",
        "X-Tenant=t-secret-1",
        "--signing-secret",
        "generate",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[0] == "endpoint crm added: http://127.0.0.1:9/crm"
    assert added.stdout.splitlines()[1].startswith("signing secret (shown once): whsec_")
    assert _one(db, "SELECT events FROM webhook_runtime_endpoints") == ["create"]

    updated = wg_webhooks(config, "endpoints", "update", "crm", "--url", "http://127.0.0.1:9/v2")
    assert updated.returncode == 0, updated.stderr
    assert _one(db, "SELECT public_url FROM webhook_runtime_endpoints") == "http://127.0.0.1:9/v2"

    rotated = wg_webhooks(config, "endpoints", "rotate-secret", "crm", "--grace", "2h")
    assert rotated.returncode == 0, rotated.stderr
    lines = rotated.stdout.splitlines()
    assert lines[0].startswith("new signing secret (shown once): whsec_")
    assert lines[1].startswith("the previous secret keeps signing until ")

    listed = wg_webhooks(config, "endpoints", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["billing"][1:3] == ["config", "enabled"]
    assert rows["crm"][1:3] == ["api", "enabled"]
    for secret in ("t-secret-1", lines[0].rsplit(" ", 1)[1]):
        assert secret not in listed.stdout

    refused = wg_webhooks(config, "endpoints", "remove", "billing")
    assert refused.returncode == 1
    assert "comes from the config file" in refused.stderr

    removed = wg_webhooks(config, "endpoints", "remove", "crm")
    assert removed.returncode == 0, removed.stderr
    assert _one(db, "SELECT count(*) FROM webhook_runtime_endpoints") == 0


def test_a_bad_value_is_one_line_naming_the_field_and_stores_nothing(
    db: psycopg.Connection[Any], config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    config, _ = config_factory()
    bad = wg_webhooks(
        config, "endpoints", "add", "crm", "--url", "http://127.0.0.1:9/", "--timeout", "soon"
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("wg-webhooks: Timeout: ")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert _one(db, "SELECT count(*) FROM webhook_runtime_endpoints") == 0
