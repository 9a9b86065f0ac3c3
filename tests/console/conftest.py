"""The console on a real API (uvicorn), fresh database, and a stack seeded with known secrets."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from services.config import Settings

ADMIN = ("admin@wgportal.local", "test-admin-token")
# Known secrets: no page or response of the console may contain any of them.
AUTHENTICATION = "Bearer s3cr3t-receiver-credential-7f1c"
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FLOWER_AUTH = "ops:flower-pass-9d2e"
SECRETS = (
    AUTHENTICATION,
    AUTHENTICATION.partition(" ")[2],
    SIGNING_SECRET,
    SIGNING_SECRET.removeprefix("whsec_"),
    ADMIN[1],
    FLOWER_AUTH.partition(":")[2],
)

_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def endpoint(name: str, url: str, **extra: Any) -> dict[str, Any]:
    """An endpoint entry carrying the known secrets."""
    return {
        "name": name,
        "url": url,
        "authentication": AUTHENTICATION,
        "signing_secret": SIGNING_SECRET,
        **extra,
    }


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


class Console:
    """A browser-less client of the console: a cookie jar, and every page it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.seen: list[tuple[str, str]] = []

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        answer = self.http.get(self.url + path, timeout=30, **kwargs)
        self.seen.append((path, answer.text + str(answer.headers)))
        return answer

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        answer = self.http.post(self.url + path, data=data, timeout=30, **kwargs)
        self.seen.append((path, answer.text + str(answer.headers)))
        return answer

    def sign_in(self, identifier: str = ADMIN[0], token: str = ADMIN[1]) -> requests.Response:
        form = self.get("/console/login")
        login_token = _LOGIN_TOKEN.search(form.text)
        assert login_token is not None, form.text
        return self.post(
            "/console/login",
            {"login_token": login_token.group(1), "identifier": identifier, "token": token},
        )

    def csrf(self) -> str:
        page = self.get("/console/")
        found = _CSRF.search(page.text)
        assert found is not None, page.text
        return found.group(1)


@pytest.fixture
def console_factory(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> Callable[..., tuple[Console, Settings]]:
    """The API (with the console) on loopback for a config of `endpoints`."""

    def make(endpoints: list[dict[str, Any]], **webhook: Any) -> tuple[Console, Settings]:
        _, settings = config_factory(
            {"endpoints": endpoints, **webhook}, flower={"basic_auth": FLOWER_AUTH}
        )
        return Console(api_url_factory(settings)), settings

    return make
