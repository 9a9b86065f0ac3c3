"""The operator commands, run as the real `wg-webhooks` console script."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from services.config import Settings
from services.outbox import record
from tests.operations.cli import wg_webhooks
from tests.operations.outbox_rows import (
    add_attempt,
    deliveries_of,
    make_event,
    set_state,
    status_of,
)

DAY = 86400.0
TWO_ENDPOINTS = {
    "url": "http://127.0.0.1:9/a",
    "endpoints": [{"name": "billing", "url": "http://127.0.0.1:9/b"}],
}


def test_recover_since_redrives_exactly_the_dead_deliveries_in_the_window(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory(TWO_ENDPOINTS)
    plan = {
        "dead-1h": ("dead", 3600.0),
        "dead-23h": ("dead", 23 * 3600.0),
        "dead-25h": ("dead", 25 * 3600.0),
        "delivered-1h": ("delivered", 3600.0),
        "pending-1h": ("pending", 3600.0),
    }
    ids: dict[tuple[str, str], int] = {}
    for name, (status, ago) in plan.items():
        for endpoint, delivery in deliveries_of(
            db, make_event(database_url, settings.webhook.endpoints, name)
        ).items():
            set_state(db, delivery, status, ago_seconds=ago, attempts=4)
            ids[(name, endpoint)] = delivery

    done = wg_webhooks(config, "recover", "--since", "24h")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "re-drove 4 dead deliveries (last changed within 24h)"
    after = {key: status_of(db, delivery) for key, delivery in ids.items()}
    redriven = {key for key, status in after.items() if plan[key[0]][0] != status}
    assert redriven == {(n, e) for n in ("dead-1h", "dead-23h") for e in ("default", "billing")}
    assert all(after[key] == "pending" for key in redriven)


def test_recover_for_one_endpoint_and_refusing_an_unknown_one(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory(TWO_ENDPOINTS)
    both = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "alice"))
    for delivery in both.values():
        set_state(db, delivery, "dead", ago_seconds=60)

    unknown = wg_webhooks(config, "recover", "--since", "1h", "--endpoint", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "wg-webhooks: endpoint 'nope' is not configured (configured: default, billing)"
    )
    one = wg_webhooks(config, "recover", "--since", "1h", "--endpoint", "billing")
    assert one.returncode == 0, one.stderr
    assert "re-drove 1 dead deliveries of endpoint billing" in one.stdout
    assert (status_of(db, both["billing"]), status_of(db, both["default"])) == ("pending", "dead")


def test_recover_over_many_rows_draws_a_progress_bar_on_stderr(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, conn.transaction():
        for n in range(1200):
            record(conn, settings.webhook.endpoints, "create", "user", f"u{n}", {})
    db.execute("UPDATE webhook_deliveries SET status = 'dead', attempts = 8")

    done = wg_webhooks(config, "recover", "--since", "1h")

    assert done.returncode == 0, done.stderr
    assert "re-drove 1200 dead deliveries" in done.stdout
    assert "recovering [" in done.stderr
    assert done.stderr.rstrip().endswith("100%  1200/1200")
    assert db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'"
    ).fetchone() == (0,)


def test_a_bad_duration_is_a_usage_error(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, _ = config_factory({"url": "http://127.0.0.1:9/hook"})
    done = wg_webhooks(config, "recover", "--since", "yesterday")
    assert done.returncode == 2
    assert "--since" in done.stderr and "not a duration" in done.stderr


def test_deliveries_list_prints_a_table_and_filters(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory(TWO_ENDPOINTS)
    alice = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "alice"))
    bob = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "bob", "update"))
    set_state(db, alice["billing"], "dead", ago_seconds=60, attempts=8)
    db.execute(
        "UPDATE webhook_deliveries SET last_status_code = 502 WHERE id = %s", (alice["billing"],)
    )

    table = wg_webhooks(config, "deliveries", "list")
    dead = wg_webhooks(config, "deliveries", "list", "--status", "dead", "--endpoint", "billing")

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "ID", "STATUS", "ENDPOINT", "EVENT", "ENTITY", "IDENTIFIER", "ATTEMPTS", "LAST", "NEXT",
        "ATTEMPT",
    ]  # fmt: skip
    assert [int(line.split()[0]) for line in lines[1:]] == sorted(
        [*alice.values(), *bob.values()], reverse=True
    )
    assert dead.returncode == 0, dead.stderr
    (row,) = dead.stdout.splitlines()[1:]
    assert row.split() == [str(alice["billing"]), "dead", "billing", "create", "user", "alice",
                           "8", "502", "-"]  # fmt: skip


def test_deliveries_list_json_is_the_api_list(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    delivery = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "alice"))
    done = wg_webhooks(config, "deliveries", "list", "--json", "--identifier", "alice")
    assert done.returncode == 0, done.stderr
    (listed,) = json.loads(done.stdout)
    assert listed["Id"] == delivery["default"]
    assert (listed["Event"], listed["Entity"], listed["Identifier"], listed["Status"]) == (
        "create",
        "user",
        "alice",
        "pending",
    )


def test_deliveries_show_prints_every_attempt_with_its_response_excerpt(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    (delivery,) = deliveries_of(
        db, make_event(database_url, settings.webhook.endpoints, "alice")
    ).values()
    add_attempt(db, delivery, 503, "retry", body="overloaded\ntry later", ago_seconds=30)
    add_attempt(db, delivery, None, "retry", error="connection refused", ago_seconds=20)
    add_attempt(db, delivery, 410, "dead", body="gone for good")
    set_state(db, delivery, "dead", attempts=3)

    done = wg_webhooks(config, "deliveries", "show", str(delivery))

    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"Delivery {delivery}\n")
    assert "Status        dead" in text
    attempts = text.split("\nAttempts\n", 1)[1].splitlines()
    assert attempts[0].startswith("  #1  ") and "  503  retry  " in attempts[0]
    assert attempts[1:3] == ["      overloaded", "      try later"]
    assert attempts[3].startswith("  #2  ") and attempts[3].endswith("connection refused")
    assert attempts[4].startswith("  #3  ") and "  410  dead  " in attempts[4]
    assert attempts[5] == "      gone for good"


def test_deliveries_show_of_an_unknown_id_fails_with_one_line(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, _ = config_factory({"url": "http://127.0.0.1:9/hook"})
    done = wg_webhooks(config, "deliveries", "show", "999")
    assert done.returncode == 1
    assert done.stderr == "wg-webhooks: no delivery with id 999\n"


def test_redeliver_puts_each_back_to_pending_and_refuses_unknown_ids(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    dead = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "a"))["default"]
    done_ = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "b"))["default"]
    set_state(db, dead, "dead", attempts=8)
    set_state(db, done_, "delivered", attempts=1)

    unknown = wg_webhooks(config, "redeliver", str(dead), "31337")
    assert unknown.returncode == 1
    assert unknown.stderr == "wg-webhooks: no delivery with id 31337\n"
    assert status_of(db, dead) == "dead"

    both = wg_webhooks(config, "redeliver", str(dead), str(done_))
    assert both.returncode == 0, both.stderr
    assert both.stdout.splitlines() == [
        f"delivery {dead}: dead -> pending",
        f"delivery {done_}: delivered -> pending",
    ]
    assert (status_of(db, dead), status_of(db, done_)) == ("pending", "pending")


def test_redeliver_to_a_disabled_endpoint_says_it_waits(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    dead = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "a"))["default"]
    set_state(db, dead, "dead")
    db.execute("INSERT INTO webhook_endpoints (name, disabled_at) VALUES ('default', now())")
    done = wg_webhooks(config, "redeliver", str(dead))
    assert done.returncode == 0, done.stderr
    assert "endpoint default is disabled" in done.stderr
    assert "wg-webhooks endpoints enable default" in done.stderr


def test_endpoints_list_and_enable(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    config, settings = config_factory(TWO_ENDPOINTS)
    make_event(database_url, settings.webhook.endpoints, "alice")
    db.execute(
        "INSERT INTO webhook_endpoints (name, disabled_at, disabled_reason, failing_since)"
        " VALUES ('billing', now(), 'nothing but failures for 120h', now() - interval '6 days')"
    )

    listed = wg_webhooks(config, "endpoints", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:3]}
    assert rows["default"][1:6] == ["config", "enabled", "http://127.0.0.1:9/a", "1", "0"]
    assert rows["billing"][1:6] == ["config", "disabled", "http://127.0.0.1:9/b", "1", "0"]
    assert rows["billing"][7:9] == ["6d", "ago"]  # failing since
    assert re.search(r"^billing: disabled (now|\d+s ago): nothing but failures for 120h$",
                     listed.stdout, re.MULTILINE)  # fmt: skip

    enabled = wg_webhooks(config, "endpoints", "enable", "billing")
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout == "endpoint billing enabled: 1 pending deliveries resume\n"
    assert db.execute(
        "SELECT disabled_at, failing_since FROM webhook_endpoints WHERE name = 'billing'"
    ).fetchone() == (None, None)
    again = wg_webhooks(config, "endpoints", "enable", "billing")
    assert again.stdout == "endpoint billing was not disabled\n"
    unknown = wg_webhooks(config, "endpoints", "enable", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "wg-webhooks: no endpoint named 'nope' (configured: default, billing)\n"
    )
