"""The Swagger UI at /docs and at wg-portal's /api/v1/doc.html works with no network: the page
and every file it references come from this server, and a real browser that can reach nothing
else renders the operations."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from services.config import Settings
from tests.conftest import skip_or_fail

PAGES = ("/docs", "/api/v1/doc.html")
_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", PAGES)
def test_the_page_and_every_file_it_references_come_from_this_server(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
    page: str,
) -> None:
    api = api_url_factory(config_factory()[1])
    answer = requests.get(api + page, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    html = answer.text
    assert "http://" not in html and "https://" not in html, html
    references = _REFERENCE.findall(html)
    assert len(references) >= 3, html  # the script, the style sheet, the icon
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = requests.get(api + reference, timeout=10)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 0, reference
    spec = re.search(r"""url:\s*['"]([^'"]+)['"]""", html)
    assert spec is not None and spec.group(1) == "/openapi.json"
    assert "/api/v1/user/new" in requests.get(api + spec.group(1), timeout=10).json()["paths"]


def test_a_browser_that_can_reach_only_this_server_renders_the_operations(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        skip_or_fail("chromium is not installed (apt-get install chromium)")
        return
    api = api_url_factory(config_factory()[1])
    for page in PAGES:
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(
                [
                    browser, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={profile}", "--no-first-run",
                    # every name but 127.0.0.1 fails to resolve: no CDN can be reached
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--virtual-time-budget=15000", "--dump-dom", api + page,
                ],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        dom = done.stdout
        assert 'class="swagger-ui' in dom, dom[-3000:]
        assert "/api/v1/user/new" in dom, dom[-3000:]  # an operation, rendered by the script
