"""Headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium, kept off the
internet, and an ASGI recorder of every response the API served while the browser was on it."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artifacts" / "console"

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1360,1000",
    # every host name but loopback fails to resolve: no page can make it fetch from elsewhere
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


def missing() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return (
                f"{path} is missing (.ci/system-packages.sh installs chromium and chromium-driver)"
            )
    return ""


def start() -> Iterator[Any]:
    """A Chrome WebDriver with an empty profile; quits and removes the profile at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wgw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(90)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Recorder:
    """ASGI middleware keeping every response (status line, headers, body) the app sends."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.responses: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []

        async def keep(message: Any) -> None:
            if message["type"] == "http.response.start":
                parts.extend(k + b": " + v for k, v in message.get("headers", []))
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        with self.lock:
            self.responses.append(
                (scope["path"], b"\n".join(parts).decode("utf-8", errors="replace"))
            )


def navigate_by(driver: Any, by: str, value: str, timeout: float = 90) -> None:
    """Click the element (`by`, `value`) to load a new page, and wait until the new page is there
    (a click returns before the browser has left the old page). The element is found again if
    the overview's refresh swapped it out between finding and clicking."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    for attempt in range(3):
        try:
            driver.find_element(by, value).click()
            break
        except (StaleElementReferenceException, WebDriverException) as exc:
            swapped = isinstance(exc, StaleElementReferenceException) or (
                "does not belong to the document" in str(exc)
            )
            if attempt == 2 or not swapped:
                raise
    wait = WebDriverWait(driver, timeout)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
