"""Endpoint health: a failing streak, disabling after `disable_after`, enabling again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from services.domain.errors import NotFound
from services.endpoint_health import enable, list_endpoints, record_outcomes
from services.masking import public_url
from tests.operations.outbox_rows import deliveries_of, make_event
from workers.relay import claim

FIVE_DAYS = 5 * 86400.0


def _health(db: psycopg.Connection[Any], name: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT failing_since IS NOT NULL, disabled_at IS NOT NULL, last_success_at IS NOT NULL,"
        " last_failure_at IS NOT NULL FROM webhook_endpoints WHERE name = %s",
        (name,),
    ).fetchone()


def _age_streak(db: psycopg.Connection[Any], name: str, seconds: float) -> None:
    db.execute(
        "UPDATE webhook_endpoints SET failing_since = now() - make_interval(secs => %s)"
        " WHERE name = %s",
        (seconds, name),
    )


def test_failures_start_a_streak_and_a_success_ends_it(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        record_outcomes(conn, {"billing": (0, 3)}, FIVE_DAYS)
        conn.commit()
        assert _health(db, "billing") == (True, False, False, True)
        record_outcomes(conn, {"billing": (1, 2)}, FIVE_DAYS)
        conn.commit()
    assert _health(db, "billing") == (False, False, True, True)


def test_an_endpoint_failing_longer_than_disable_after_is_disabled(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        assert record_outcomes(conn, {"billing": (0, 1), "default": (0, 1)}, FIVE_DAYS) == []
        conn.commit()
        _age_streak(db, "billing", FIVE_DAYS + 60)
        _age_streak(db, "default", FIVE_DAYS - 3600)
        assert record_outcomes(conn, {"billing": (0, 1), "default": (0, 1)}, FIVE_DAYS) == [
            "billing"
        ]
        conn.commit()
    assert _health(db, "billing") == (True, True, False, True)
    assert _health(db, "default") == (True, False, False, True)
    reason = db.execute("SELECT disabled_reason FROM webhook_endpoints WHERE name = 'billing'")
    assert "120h" in reason.fetchone()[0]  # type: ignore[index]


def test_a_success_in_the_batch_keeps_an_old_streak_from_disabling(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        record_outcomes(conn, {"billing": (0, 1)}, FIVE_DAYS)
        conn.commit()
        _age_streak(db, "billing", FIVE_DAYS * 2)
        assert record_outcomes(conn, {"billing": (1, 5)}, FIVE_DAYS) == []
        conn.commit()
    assert _health(db, "billing") == (False, False, True, True)


def test_disable_after_zero_never_disables(database_url: str, db: psycopg.Connection[Any]) -> None:
    with psycopg.connect(database_url) as conn:
        record_outcomes(conn, {"billing": (0, 1)}, 0)
        conn.commit()
        _age_streak(db, "billing", FIVE_DAYS * 10)
        assert record_outcomes(conn, {"billing": (0, 1)}, 0) == []
        conn.commit()
    assert _health(db, "billing") == (True, False, False, True)


def test_outcomes_roll_back_with_the_results_transaction(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        record_outcomes(conn, {"billing": (0, 1)}, FIVE_DAYS)
        conn.rollback()
    assert _health(db, "billing") is None


def test_the_relay_claims_nothing_for_a_disabled_endpoint_and_its_deliveries_wait(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    delivery = deliveries_of(db, make_event(database_url, settings.webhook.endpoints, "alice"))
    db.execute(
        "INSERT INTO webhook_endpoints (name, disabled_at, disabled_reason)"
        " VALUES ('default', now(), 'test')"
    )
    with psycopg.connect(database_url) as conn:
        assert claim(conn, settings) == []
        assert enable(conn, settings, "default") is True
        (claimed,) = claim(conn, settings)
    assert claimed.ids == [delivery["default"]]
    assert _health(db, "default") == (False, False, False, False)


def test_enable_of_an_unknown_endpoint_names_the_configured_ones(
    database_url: str, config_factory: Callable[..., tuple[Path, Settings]]
) -> None:
    _, settings = config_factory({"url": "http://127.0.0.1:9/hook"})
    with psycopg.connect(database_url) as conn, pytest.raises(NotFound) as raised:
        enable(conn, settings, "nope")
    assert raised.value.message == "no endpoint named 'nope' (configured: default)"


def test_list_shows_backlog_and_never_a_credential_in_the_url(
    database_url: str,
    db: psycopg.Connection[Any],
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory(
        {"url": "https://user:s3cret@hooks.example.com:8443/in?token=abc", "authentication": "x"}
    )
    make_event(database_url, settings.webhook.endpoints, "alice")
    db.execute(
        "INSERT INTO webhook_deliveries (event_id, endpoint, ordering_key, status)"
        " SELECT id, 'retired', 'user:alice', 'dead' FROM webhook_events"
    )
    with psycopg.connect(database_url) as conn:
        states = {s.name: s.to_json() for s in list_endpoints(conn, settings)}
    assert states["default"]["Url"] == "https://***@hooks.example.com:8443/in?***"
    assert states["default"]["Pending"] == 1
    assert states["default"]["Enabled"] is True
    assert states["retired"]["Configured"] is False
    assert states["retired"]["Dead"] == 1
    assert "s3cret" not in repr(states) and "abc" not in repr(states)


def test_public_url_keeps_what_is_not_secret() -> None:
    assert public_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"
    assert public_url("https://[::1]/x") == "https://[::1]/x"
