"""Secrets masked where they would otherwise be shown or stored (SECURITY.md): URLs in `up`'s
banner, config errors and reprs; an endpoint's own secrets echoed back by a hostile receiver."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cli import up_cmd as up
from services.config import ConfigError, Endpoint, Settings, load_settings
from services.masking import endpoint_secrets, mask_secrets, public_url
from tests.support.events import record_events
from tests.support.processes import Processes
from tests.support.receiver import Received, Receiver, Reply
from tests.support.waiting import wait_for

URL_USER, URL_PASSWORD, URL_TOKEN = "hookuser", "url-pa55word-x9", "query-t0ken-q7"
AUTH = "Bearer echo-me-7f3a9c1e5b"
SIGNING = "whsec_" + base64.b64encode(b"signing-key-for-the-echo-test!!").decode()


def _secret_url(base: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{URL_USER}:{URL_PASSWORD}@{rest}?token={URL_TOKEN}"


# --- URLs: up's banner, config errors, reprs ---------------------------------------------------


def test_ups_banner_masks_url_credentials_and_query_tokens(
    config_factory: Callable[..., tuple[Path, Settings]],
) -> None:
    _, settings = config_factory({"url": _secret_url("http://127.0.0.1:9/hook")})
    children = up.plan(settings, argparse.Namespace(no_flower=True, no_collector=True), {})

    banner = up._banner(settings, "token", False, "ops:pw", False, children)

    assert "default -> http://***@127.0.0.1:9/hook?***" in banner
    for secret in (URL_USER, URL_PASSWORD, URL_TOKEN):
        assert secret not in banner


def test_a_config_error_about_a_url_does_not_repeat_its_credentials(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"webhook": {"url": _secret_url("ftp://files.example")}}))
    with pytest.raises(ConfigError) as refused:
        load_settings(str(config), env={})
    assert "webhook.url" in str(refused.value)
    for secret in (URL_USER, URL_PASSWORD, URL_TOKEN):
        assert secret not in str(refused.value)
    redis_url = f"memcached://:{URL_PASSWORD}@cache:11211"
    with pytest.raises(ConfigError) as refused:
        load_settings(None, env={"REDIS_URL": redis_url})
    assert URL_PASSWORD not in str(refused.value)


def test_an_endpoints_repr_masks_its_url() -> None:
    endpoint = Endpoint("main", _secret_url("https://hooks.example/in"), authentication=AUTH)
    shown = repr(endpoint)
    assert "hooks.example" in shown
    for secret in (URL_USER, URL_PASSWORD, URL_TOKEN, AUTH):
        assert secret not in shown


@settings(max_examples=200, deadline=None)
@given(
    user=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
    password=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
    token=st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)
def test_public_url_never_shows_user_info_or_query(user: str, password: str, token: str) -> None:
    url = f"https://{quote(user, safe='')}:{quote(password, safe='')}@h.example/p?t={token}"
    shown = public_url(url)
    assert shown == "https://***@h.example/p?***"


# --- response excerpts ---------------------------------------------------------------------------


def test_secrets_a_receiver_echoes_are_masked_before_the_excerpt_is_stored(
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    def echo(_receiver: Receiver, request: Received) -> Reply:
        body = json.dumps({"path": request.path, "headers": request.headers}).encode()
        return Reply(status=500, body=b"error, you sent: " + body)

    receiver = receiver_factory(echo)
    endpoint = {
        "url": _secret_url(receiver.url),
        "authentication": AUTH,
        "signing_secret": SIGNING,
        "retry_schedule": ["100ms"],
    }
    path, settings_ = config_factory(endpoint)
    procs = processes_factory(path)
    procs.worker()
    procs.relay()
    record_events(database_url, settings_, [("create", "user", "alice", {"Identifier": "alice"})])
    wait_for(
        lambda: len(db.execute("SELECT 1 FROM webhook_attempts").fetchall()) == 2,
        what="two attempts recorded",
    )

    sent = receiver.requests[0]
    assert sent.headers["Authorization"] == AUTH and URL_TOKEN in sent.path  # it was echoed
    excerpts = [row[0] for row in db.execute("SELECT response_body FROM webhook_attempts")]
    for excerpt in excerpts:
        assert excerpt.startswith("error, you sent: ")
        assert "***" in excerpt and "webhook-signature" in excerpt  # the rest is kept
        for secret in (AUTH, AUTH.split()[1], URL_TOKEN, SIGNING.removeprefix("whsec_")):
            assert secret not in excerpt


def test_the_secrets_of_an_endpoint_include_every_spelling_a_receiver_may_echo() -> None:
    basic = "Basic " + base64.b64encode(b"hooks:basic-pass-123").decode()
    endpoint = Endpoint("main", _secret_url("https://h.example/in"), authentication=basic)
    found = endpoint_secrets(endpoint)
    assert {basic, "hooks:basic-pass-123", "basic-pass-123", URL_PASSWORD, URL_TOKEN} <= found
    assert all(len(s) >= 4 for s in found)  # "a" or "ok" would blank out half a body


def test_a_secret_cut_off_at_the_end_of_an_excerpt_is_masked_too() -> None:
    excerpt = "you sent Authorization: Bearer echo-me-7f3"  # 4 KiB ended in the middle of it
    assert mask_secrets(excerpt, {AUTH}) == "you sent Authorization: ***"
    assert mask_secrets('{"a": "x\\"y-secret"}', {'x"y-secret'}) == '{"a": "***"}'
