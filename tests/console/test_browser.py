"""The console in a real browser (headless Chromium via Selenium) on the real stack: the API,
a relay and a Celery worker, receivers on loopback. An operator signs in, finds the dead
deliveries of a failing endpoint, reads why, re-drives one after the receiver recovers and sees
it delivered, re-drives the rest in bulk, and disables an endpoint to stop its deliveries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from services.config import Settings
from tests.conftest import skip_or_fail
from tests.console import browser
from tests.console.conftest import ADMIN, FLOWER_AUTH, endpoint, leaks
from tests.support.events import record_events
from tests.support.processes import Processes
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for

T = TypeVar("T")


@pytest.fixture
def driver() -> Iterator[Any]:
    reason = browser.missing()
    if reason:
        skip_or_fail(reason)
    yield from browser.start()


class Flaky:
    """Refuses with a 500 that echoes the request's Authorization (as careless receivers do)
    until `recover()`; then answers 200."""

    def __init__(self) -> None:
        self.failing = threading.Event()
        self.failing.set()

    def __call__(self, _: Receiver, request: Received) -> Reply:
        if self.failing.is_set():
            echo = f"denied: Authorization={request.headers.get('Authorization', '')}"
            return Reply(status=500, body=echo.encode())
        return Reply()

    def recover(self) -> None:
        self.failing.clear()


def _shot(driver: Any, name: str) -> Path:
    browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = browser.ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _fresh(read: Callable[[], T]) -> T:
    """`read()` of the overview, again if its self-refresh replaced a node under the read.

    The refresh swaps the overview's nodes: a lookup that spans it fails with a stale element
    (or Chromium's "Node ... does not belong to the document"), never with a wrong value.
    """
    from selenium.common.exceptions import WebDriverException

    for _ in range(20):
        try:
            return read()
        except WebDriverException:
            time.sleep(0.1)
    return read()


def _cell(driver: Any, endpoint: str, css: str) -> str:
    """A cell of an endpoint's overview row, found afresh (the overview refreshes itself)."""
    from selenium.webdriver.common.by import By

    selector = f'tr[data-endpoint="{endpoint}"] {css}'
    return _fresh(lambda: str(driver.find_element(By.CSS_SELECTOR, selector).text))


def _count(db: psycopg.Connection[Any], where: str) -> int:
    row = db.execute(f"SELECT count(*) FROM webhook_deliveries WHERE {where}").fetchone()
    assert row is not None
    return int(row[0])


def test_operator_finds_redrives_and_stops_deliveries_in_a_browser(
    driver: Any,
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[..., str],
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    flaky = Flaky()
    billing = receiver_factory(flaky)
    audit = receiver_factory()
    path, settings = config_factory(
        {"endpoints": [endpoint("billing", billing.url), endpoint("audit", audit.url)]},
        flower={"basic_auth": FLOWER_AUTH},
    )
    procs = processes_factory(path)
    procs.worker()
    procs.relay()
    recorders: list[browser.Recorder] = []

    def record(app: Any) -> browser.Recorder:
        recorders.append(browser.Recorder(app))
        return recorders[-1]

    url = api_url_factory(settings, wrap=record)
    record_events(database_url, settings, [("create", "user", f"user{i}", {}) for i in range(3)])
    wait_for(
        lambda: (
            _count(db, "endpoint = 'billing' AND status = 'dead'") == 3
            and _count(db, "endpoint = 'audit' AND status = 'delivered'") == 3
        ),
        timeout=120,
        what="billing's deliveries to die and audit's to arrive",
    )

    # Signing in: the console sends a visitor without a session to the form, then back.
    driver.get(url + "/console/deliveries")
    assert "/console/login" in driver.current_url
    driver.find_element(By.ID, "identifier").send_keys(ADMIN[0])
    driver.find_element(By.ID, "token").send_keys(ADMIN[1])
    browser.navigate_by(driver, By.ID, "sign-in")
    wait_for(lambda: driver.current_url.endswith("/console/deliveries"), what="the deliveries")

    # The overview shows billing failing, with its dead deliveries.
    driver.get(url + "/console/")
    assert _cell(driver, "billing", "td.dead") == "3"
    assert "since " in _cell(driver, "billing", "td.failing")
    assert _cell(driver, "audit", "td.delivered") == "3"
    assert _fresh(lambda: driver.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline.failed"))
    _shot(driver, "overview")

    # Filter the dead deliveries of billing, open one: why it failed, what was sent.
    browser.navigate_by(driver, By.LINK_TEXT, "Deliveries")
    Select(driver.find_element(By.ID, "f-status")).select_by_visible_text("dead")
    Select(driver.find_element(By.ID, "f-endpoint")).select_by_visible_text("billing")
    browser.navigate_by(driver, By.ID, "apply-filter")
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.delivery")
    assert len(rows) == 3
    assert {r.find_element(By.CSS_SELECTOR, "td.status").text for r in rows} == {"dead"}
    first_id = int(rows[0].get_attribute("data-id"))
    browser.navigate_by(driver, By.CSS_SELECTOR, f'tr[data-id="{first_id}"] a')
    attempts = driver.find_elements(By.CSS_SELECTOR, "#attempts li.attempt")
    assert len(attempts) == 4  # the first try and the three of the retry schedule
    assert all("HTTP 500" in a.text for a in attempts)
    assert "denied: Authorization=***" in attempts[0].text  # the echo, masked as everywhere
    assert '"identifier": "user' in driver.find_element(By.ID, "envelope").text
    assert (
        driver.find_element(By.ID, "flower")
        .get_attribute("href")
        .endswith("/tasks?name=webhooks.deliver")
    )
    _shot(driver, "failing-delivery")

    # The receiver recovers; the operator re-drives this one and watches it arrive.
    flaky.recover()
    browser.navigate_by(driver, By.ID, "redeliver")
    assert "Re-driven" in driver.find_element(By.CSS_SELECTOR, "p.notice").text

    def delivered() -> bool:
        driver.refresh()
        return bool(driver.find_element(By.ID, "status").text == "delivered")

    wait_for(delivered, timeout=60, interval=0.5, what="the re-driven delivery to be delivered")
    _shot(driver, "redriven-delivery")
    webhook_id = db.execute(
        "SELECT e.webhook_id FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id"
        " WHERE d.id = %s",
        (first_id,),
    ).fetchone()
    assert webhook_id is not None
    assert billing.requests[-1].headers["webhook-id"] == webhook_id[0]

    # Bulk re-drive of the two left: a confirmation page with the count first.
    driver.get(url + "/console/deliveries?status=dead&endpoint=billing")
    browser.navigate_by(driver, By.ID, "bulk-redrive")
    assert driver.find_element(By.ID, "match-count").get_attribute("data-count") == "2"
    assert _count(db, "endpoint = 'billing' AND status = 'dead'") == 2  # asking changed nothing
    browser.navigate_by(driver, By.ID, "confirm-redrive")
    assert driver.find_element(By.ID, "redriven").get_attribute("data-count") == "2"
    wait_for(
        lambda: _count(db, "endpoint = 'billing' AND status = 'delivered'") == 3,
        timeout=60,
        what="the bulk re-drive to be delivered",
    )

    # Disable audit from the overview: new events wait for it, none is sent; the overview's
    # refresh (no reload) shows them pending.
    driver.get(url + "/console/")
    browser.navigate_by(driver, By.CSS_SELECTOR, 'tr[data-endpoint="audit"] button.disable')
    assert _cell(driver, "audit", "td.state").startswith("disabled")
    sent_to_audit = audit.count()
    record_events(database_url, settings, [("update", "user", f"user{i}", {}) for i in range(2)])
    wait_for(
        lambda: _count(db, "endpoint = 'billing' AND status = 'delivered'") == 5,
        timeout=60,
        what="billing to get the new events",
    )
    refreshed = _fresh(
        lambda: driver.find_element(By.ID, "overview").get_attribute("data-refreshed")
    )

    def audit_pending_shown() -> bool:
        def read() -> bool:
            box = driver.find_element(By.ID, "overview")
            cell = box.find_element(By.CSS_SELECTOR, 'tr[data-endpoint="audit"] td.pending')
            return bool(box.get_attribute("data-refreshed") != refreshed and cell.text == "2")

        return _fresh(read)

    wait_for(audit_pending_shown, timeout=45, interval=0.5, what="the overview to refresh")
    assert audit.count() == sent_to_audit
    assert _count(db, "endpoint = 'audit' AND status = 'pending'") == 2
    _shot(driver, "disabled-endpoint")

    # Nothing the API served while the browser was on it holds a secret.
    served = recorders[0].responses
    assert len(served) > 15
    for where, text in served:
        assert not leaks(text), f"{where} served {leaks(text)}"
