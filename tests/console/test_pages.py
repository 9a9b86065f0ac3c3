"""The console's pages over HTTP: sign-in, what each page shows, keyset paging, bad filters,
and the actions' effects on the rows (the browser tests drive the same pages end to end)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.console.conftest import ADMIN, Console, endpoint
from tests.support.events import record_events

Factory = Callable[..., tuple[Console, Settings]]
CLOSED = "http://127.0.0.1:9/hook"  # nothing is sent in these tests: no relay runs


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="delivery[^"]*" data-id="(\d+)"', html)]


def test_sign_in_sets_a_strict_http_only_cookie_and_shows_the_overview(
    console_factory: Factory,
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    answer = console.sign_in()
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/"
    cookie = answer.headers["Set-Cookie"]
    assert "wgw_console=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    page = console.get("/console/")
    assert page.status_code == 200
    assert 'data-endpoint="billing"' in page.text
    assert ADMIN[0] in page.text


def test_cookies_are_secure_behind_a_tls_proxy(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.http.headers["X-Forwarded-Proto"] = "https"
    form = console.get("/console/login")
    assert "Secure" in form.headers["Set-Cookie"]
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    # a browser sends a Secure cookie only over TLS (which the proxy terminates): hand it over
    answer = console.post(
        "/console/login",
        {"login_token": token.group(1), "identifier": ADMIN[0], "token": ADMIN[1]},
        cookies={"wgw_console_login": token.group(1)},
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["Set-Cookie"]


def test_wrong_token_is_refused_and_signs_nobody_in(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    answer = console.sign_in(ADMIN[0], "not-the-token")
    assert answer.status_code == 401
    assert "Wrong identifier or API token" in answer.text
    assert "wgw_console=" not in answer.headers.get("Set-Cookie", "")
    assert console.get("/console/").status_code == 303


def test_a_user_who_is_not_an_admin_gets_403(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    db.execute(
        "INSERT INTO users (identifier, api_token, is_admin) VALUES ('bob', 'bob-token-123', false)"
    )
    answer = console.sign_in("bob", "bob-token-123")
    assert answer.status_code == 403
    assert console.get("/console/").status_code == 303  # no session was made


def test_a_database_admin_signs_in_and_loses_the_console_when_demoted(
    console_factory: Factory, db: psycopg.Connection[Any]
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    db.execute(
        "INSERT INTO users (identifier, api_token, is_admin)"
        " VALUES ('carol', 'carol-token-1', true)"
    )
    assert console.sign_in("carol", "carol-token-1").status_code == 303
    assert console.get("/console/").status_code == 200
    db.execute("UPDATE users SET is_admin = false WHERE identifier = 'carol'")
    assert console.get("/console/").status_code == 403


def test_deliveries_are_paged_by_id_newest_first(
    console_factory: Factory, database_url: str
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED)])
    record_events(database_url, settings, [("create", "user", f"u{i}", {}) for i in range(120)], 40)
    console.sign_in()
    seen: list[int] = []
    path = "/console/deliveries"
    pages = 0
    while path:
        page = console.get(path)
        assert page.status_code == 200
        ids = _ids(page.text)
        assert ids == sorted(ids, reverse=True)
        seen += ids
        pages += 1
        older = re.search(r'href="(/console/deliveries\?[^"]*before=\d+)" id="older"', page.text)
        path = older.group(1).replace("&amp;", "&") if older else ""
    assert pages == 3  # 50 + 50 + 20
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 120


def test_filters_combine(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any]
) -> None:
    console, settings = console_factory(
        [endpoint("billing", CLOSED), endpoint("audit", CLOSED, events=["delete"])]
    )
    record_events(
        database_url,
        settings,
        [("create", "user", "alice", {}), ("delete", "user", "alice", {}),
         ("delete", "peer", "k1", {})],
    )  # fmt: skip
    dead = db.execute(
        "UPDATE webhook_deliveries SET status = 'dead' WHERE endpoint = 'audit'"
        " AND event_id = (SELECT min(event_id) FROM webhook_deliveries WHERE endpoint = 'audit')"
        " RETURNING id"
    ).fetchall()
    console.sign_in()
    page = console.get("/console/deliveries?status=dead&endpoint=audit")
    assert _ids(page.text) == [dead[0][0]]
    page = console.get("/console/deliveries?event=delete&entity=user&identifier=alice")
    expected = db.execute(
        "SELECT d.id FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        " WHERE e.event = 'delete' AND e.entity = 'user' ORDER BY d.id DESC"
    ).fetchall()
    assert _ids(page.text) == [i for (i,) in expected]
    assert len(expected) == 2  # billing and audit both want it
    assert len(_ids(console.get("/console/deliveries?since=1h").text)) == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("event=explode", "event"), ("since=soon", "since"),
     ("entity=group", "entity"), ("since=0s", "since")],
)  # fmt: skip
def test_a_bad_filter_is_a_400_page_naming_the_field(
    console_factory: Factory, query: str, field: str
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    page = console.get(f"/console/deliveries?{query}")
    assert page.status_code == 400
    assert f"{field}:" in page.text
    assert page.headers["Content-Type"].startswith("text/html")


def test_unknown_delivery_is_a_404_page(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    page = console.get("/console/deliveries/987654")
    assert page.status_code == 404
    assert "no delivery with id 987654" in page.text


def test_delivery_page_shows_the_envelope_and_masked_headers(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any]
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED)])
    record_events(database_url, settings, [("create", "user", "alice@example.com", {"A": 1})])
    (delivery_id, webhook_id) = db.execute(
        "SELECT d.id, e.webhook_id FROM webhook_deliveries d JOIN webhook_events e"
        " ON e.id = d.event_id"
    ).fetchone()
    console.sign_in()
    page = console.get(f"/console/deliveries/{delivery_id}")
    assert page.status_code == 200
    assert "&#34;identifier&#34;: &#34;alice@example.com&#34;" in page.text  # indented JSON
    assert webhook_id.startswith("evt_")
    assert f"<th>webhook-id</th><td><code>{webhook_id}</code>" in page.text
    assert "<th>Authorization</th><td><code>***</code>" in page.text
    assert "<th>webhook-signature</th><td><code>v1,***</code>" in page.text
    assert "/tasks?name=webhooks.deliver" in page.text


def test_bulk_redrive_asks_first_then_redrives_what_matches(
    console_factory: Factory, database_url: str, db: psycopg.Connection[Any]
) -> None:
    console, settings = console_factory([endpoint("billing", CLOSED), endpoint("audit", CLOSED)])
    record_events(database_url, settings, [("create", "user", f"u{i}", {}) for i in range(6)])
    db.execute("UPDATE webhook_deliveries SET status = 'dead'")
    console.sign_in()
    confirm = console.get("/console/redrive?status=dead&endpoint=billing")
    assert confirm.status_code == 200
    assert 'data-count="6"' in confirm.text
    assert db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'dead'"
    ).fetchone() == (12,)
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
    assert csrf is not None
    done = console.post(
        "/console/redrive", {"csrf": csrf.group(1), "status": "dead", "endpoint": "billing"}
    )
    assert done.status_code == 200
    assert 'data-count="6"' in done.text
    rows = dict(
        db.execute(
            "SELECT endpoint || ':' || status, count(*) FROM webhook_deliveries GROUP BY 1"
        ).fetchall()
    )
    assert rows == {"billing:pending": 6, "audit:dead": 6}


def test_disable_and_enable_an_endpoint_from_the_overview(
    console_factory: Factory, db: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    csrf = console.csrf()
    with caplog.at_level("INFO", logger="wg_webhooks.console"):
        assert console.post("/console/endpoints/billing/disable", {"csrf": csrf}).status_code == 303
    row = db.execute(
        "SELECT disabled_reason FROM webhook_endpoints WHERE name = 'billing'"
    ).fetchone()
    assert row == (f"disabled by {ADMIN[0]} in the console",)
    assert f"{ADMIN[0]} disabled endpoint billing" in caplog.text
    page = console.get("/console/")
    assert re.search(r'data-endpoint="billing">.*?<td class="state">disabled', page.text, re.S)
    assert console.post("/console/endpoints/billing/enable", {"csrf": csrf}).status_code == 303
    assert db.execute(
        "SELECT disabled_at FROM webhook_endpoints WHERE name = 'billing'"
    ).fetchone() == (None,)
    assert console.post("/console/endpoints/nosuch/disable", {"csrf": csrf}).status_code == 404


def test_overview_fragment_is_the_live_part_alone(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    fragment = console.get("/console/overview/fragment")
    assert fragment.status_code == 200
    assert 'data-endpoint="billing"' in fragment.text
    assert "<svg" in fragment.text
    assert "<html" not in fragment.text


def test_the_sign_in_form_sends_a_signed_in_admin_on(console_factory: Factory) -> None:
    console, _ = console_factory([endpoint("billing", CLOSED)])
    console.sign_in()
    answer = console.get("/console/login?next=%2Fconsole%2Fdeliveries")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/deliveries"
