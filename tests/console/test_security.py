"""The console's locks: no session -> the sign-in form; a form without the session's CSRF token
(a cross-site POST) is refused and changes nothing; sessions end; no secret on any page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.console.conftest import Console, endpoint, leaks
from tests.support.events import record_events

Factory = Callable[..., tuple[Console, Settings]]
CLOSED = "http://127.0.0.1:9/hook"

PAGES = [
    "/console/",
    "/console/overview/fragment",
    "/console/deliveries",
    "/console/deliveries?status=dead",
    "/console/deliveries/1",
    "/console/redrive?status=dead",
]
# (path, form) of every state-changing form
ACTIONS = [
    ("/console/deliveries/{id}/redeliver", {}),
    ("/console/redrive", {"status": "dead"}),
    ("/console/endpoints/billing/disable", {}),
    ("/console/logout", {}),
]


def _dead_delivery(database_url: str, settings: Settings, db: psycopg.Connection[Any]) -> int:
    record_events(database_url, settings, [("create", "user", "alice", {})])
    row = db.execute("UPDATE webhook_deliveries SET status = 'dead' RETURNING id").fetchone()
    assert row is not None
    return int(row[0])


def _state(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT 'd', id::text, status, updated_at::text FROM webhook_deliveries"
        " UNION ALL SELECT 'e', name, disabled_at::text, disabled_reason FROM webhook_endpoints"
        " UNION ALL SELECT 's', identifier, expires_at::text, '' FROM console_sessions"
        " ORDER BY 1, 2"
    ).fetchall()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_the_sign_in_form(
    console_factory: Factory, path: str
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    answer = console.get(path)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/console/login?next=%2Fconsole%2F")
    assert console.get("/console").headers["Location"] == "/console/"


def test_forms_without_a_session_change_nothing(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any]
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED)])
    delivery_id = _dead_delivery(database_url, settings, db)
    before = _state(db)
    for path, form in ACTIONS:
        answer = console.post(path.format(id=delivery_id), form)
        assert answer.status_code == 303, path
        assert answer.headers["Location"] == "/console/login"
    assert _state(db) == before


@pytest.mark.parametrize("csrf", [None, "", "forged-token-from-another-site"])
def test_a_cross_site_post_without_the_csrf_token_is_refused_and_changes_nothing(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any], csrf: str | None
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED)])
    delivery_id = _dead_delivery(database_url, settings, db)
    console.sign_in()
    before = _state(db)
    for path, form in ACTIONS:
        data = dict(form) if csrf is None else {**form, "csrf": csrf}
        answer = console.post(path.format(id=delivery_id), data)
        assert answer.status_code == 403, path
        assert "CSRF" in answer.text
    assert _state(db) == before
    assert console.get("/console/").status_code == 200  # still signed in: logout was refused too


def test_a_sign_in_posted_from_another_site_is_refused(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    answer = console.post(
        "/console/login",
        {
            "login_token": "guessed",
            "identifier": "admin@wgportal.local",
            "token": "test-admin-token",
        },
    )
    assert answer.status_code == 403
    assert db.execute("SELECT count(*) FROM console_sessions").fetchone() == (0,)


def test_sign_out_ends_the_session_for_good(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    stolen = console.http.cookies.get("wgw_console")
    assert stolen
    assert console.post("/console/logout", {"csrf": console.csrf()}).status_code == 303
    assert db.execute("SELECT count(*) FROM console_sessions").fetchone() == (0,)
    replay = Console(console.url)
    replay.http.cookies.set("wgw_console", stolen)
    assert replay.get("/console/").status_code == 303


def test_an_expired_session_is_sent_to_the_sign_in_form(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    assert console.get("/console/").status_code == 200
    db.execute("UPDATE console_sessions SET expires_at = now() - interval '1 second'")
    assert console.get("/console/").status_code == 303


def test_the_cookie_holds_a_token_the_database_never_stores(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    token = console.http.cookies.get("wgw_console")
    rows = db.execute("SELECT token_hash, csrf_token FROM console_sessions").fetchall()
    assert len(rows) == 1
    assert token not in rows[0]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/api/v1/users"])
def test_sign_in_never_redirects_off_the_console(console_factory: Factory, target: str) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    form = console.get(f"/console/login?next={target}")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = console.post(
        "/console/login",
        {
            "login_token": token.group(1),
            "identifier": "admin@wgportal.local",
            "token": "test-admin-token",
            "next": target,
        },
    )
    assert answer.headers["Location"] == "/console/"


def test_pages_load_nothing_from_elsewhere_and_forbid_it(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    for path in ("/console/", "/console/deliveries", "/console/login"):
        page = console.get(path)
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert page.headers["X-Frame-Options"] == "DENY"
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert asset.startswith("/console/"), f"{path} refers to {asset}"
    assert console.get("/console/static/console.css").status_code == 200
    assert console.get("/console/static/console.js").status_code == 200


def test_no_page_shows_a_known_secret(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any]
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED)])
    delivery_id = _dead_delivery(database_url, settings, db)
    # what a receiver echoing the request back would have left in the attempt log
    db.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code,"
        " error, response_body, outcome) VALUES (%s, now(), 12, 401, %s, %s, 'dead')",
        (
            delivery_id,
            f"refused {settings.webhook.endpoints[0].authentication}",
            "got Authorization: " + settings.webhook.endpoints[0].authentication
            + " and secret " + settings.webhook.endpoints[0].signing_secret,
        ),
    )  # fmt: skip
    console.sign_in()
    for path in [*PAGES, f"/console/deliveries/{delivery_id}", "/console/login"]:
        console.get(path)
    assert console.seen
    for path, text in console.seen:
        assert not leaks(text), f"{path} shows {leaks(text)}"
    detail = console.get(f"/console/deliveries/{delivery_id}").text
    assert "got Authorization: ***" in detail
