"""Secrets never leave where they belong: after deliveries that failed, retried and succeeded
with an `authentication`, a `signing_secret` and `include_secrets: false`, none of the secret
strings appears in any process log, in anything Redis carried (every command, watched with
MONITOR), in Flower's task API, in an API error body, in `/metrics` or in what was stored as
errors and payloads."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests

from services.config import Settings
from services.embedded import free_port
from tests.faults.load import keypair
from tests.support.processes import Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for

AUTH = "Bearer sk-live-AUTH-SECRET-7f3c9e51"
SIGNING_RAW = b"SIGNING-SECRET-0123456789abcdef"
SIGNING = "whsec_" + base64.b64encode(SIGNING_RAW).decode()
ADMIN_TOKEN = "admin-token-SECRET-42a9d0c7"
FLOWER = ("ops", "flower-pass-SECRET-9b1d")
URL_PASSWORD = "url-pass-SECRET-51e0"
URL_TOKEN = "query-token-SECRET-c3a8"
USER_PASSWORD = "user-password-SECRET-77aa"
USER_API_TOKEN = "user-api-token-SECRET-0123456789abcdef"
SHORT_TOKEN = "short-SECRET-tok"  # refused: API tokens are 32 to 64 characters


@pytest.fixture
def redis_traffic(redis_url: str) -> Iterator[list[str]]:
    """Every command any client sends to Redis while the test runs (MONITOR)."""
    seen: list[str] = []
    stop = threading.Event()
    client = redis.Redis.from_url(redis_url, socket_timeout=None)  # MONITOR waits for commands

    def watch() -> None:
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            for command in monitor.listen():
                seen.append(str(command.get("command", "")))
                if stop.is_set():
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    time.sleep(0.2)
    yield seen
    stop.set()
    client.ping()  # one more command, so the watcher wakes and sees `stop`
    thread.join(5)
    client.close()


_BODY = re.compile(r'\\?"body\\?": \\?"([A-Za-z0-9+/=]+)\\?"')


def _with_bodies_decoded(text: str) -> str:
    """`text` plus every base64 message body in it, decoded (kombu base64-encodes bodies)."""
    decoded = []
    for match in _BODY.finditer(text):
        try:
            decoded.append(base64.b64decode(match.group(1)).decode("utf-8", errors="replace"))
        except binascii.Error:
            continue
    return "\n".join([text, *decoded])


def _redis_contents(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url, decode_responses=False)
    parts: list[str] = []
    for key in client.scan_iter(count=500):
        found = client.type(key)
        kind = found.decode() if isinstance(found, bytes) else str(found)
        value: Any = b""
        if kind == "string":
            value = client.get(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1)
        parts.append(f"{key!r} {value!r}")
    client.close()
    return "\n".join(parts)


def _start_serving(procs: Processes, command: str, health_url: str) -> None:
    """Start `wg-webhooks COMMAND` and wait until `health_url` answers 200."""
    proc = procs.start(command)

    def listening() -> bool:
        assert proc.alive(), proc.log()[-3000:]
        try:
            return requests.get(health_url, timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(listening, timeout=60, what=f"{command} to listen")


def test_secrets_appear_in_no_log_message_metric_or_task(
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    redis_url: str,
    redis_traffic: list[str],
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, _q: Reply(500, body=b"try again") if r.count() <= 3 else Reply(200)
    )
    api_port, flower_port, closed_port = free_port(), free_port(), free_port()
    path, _ = config_factory(
        {
            "include_secrets": False,
            "endpoints": [
                {
                    "name": "main",
                    "url": receiver.url,
                    "authentication": AUTH,
                    "signing_secret": SIGNING,
                },
                {
                    "name": "closed",
                    "url": f"http://hook:{URL_PASSWORD}@127.0.0.1:{closed_port}/in?t={URL_TOKEN}",
                    "retry_schedule": ["100ms", "100ms"],
                },
            ],
        },
        core={"admin_user": "admin@wgportal.local", "admin_api_token": ADMIN_TOKEN},
        web={"listening_address": f"127.0.0.1:{api_port}"},
        flower={"listening_address": f"127.0.0.1:{flower_port}", "basic_auth": ":".join(FLOWER)},
    )
    iface_private, iface_public = keypair()
    peer_private, peer_public = keypair()
    psk = base64.b64encode(b"P" * 32).decode()
    secrets = {
        "authentication": AUTH,
        "signing secret": SIGNING,
        "signing secret (base64)": SIGNING.removeprefix("whsec_"),
        "signing secret (raw)": SIGNING_RAW.decode(),
        "admin API token": ADMIN_TOKEN,
        "Flower password": FLOWER[1],
        "password in the URL": URL_PASSWORD,
        "token in the URL": URL_TOKEN,
        "user password": USER_PASSWORD,
        "user API token": USER_API_TOKEN,
        "refused API token": SHORT_TOKEN,
        "interface private key": iface_private,
        "peer private key": peer_private,
        "preshared key": psk,
    }
    if urlsplit(redis_url).password:  # the embedded Redis's generated password
        secrets["Redis password"] = urlsplit(redis_url).password or ""

    procs = processes_factory(path)
    api = f"http://127.0.0.1:{api_port}"
    flower = f"http://127.0.0.1:{flower_port}"
    _start_serving(procs, "api", f"{api}/healthz")
    procs.worker()
    procs.relay()
    _start_serving(procs, "flower", f"{flower}/healthcheck")
    admin = requests.Session()
    admin.auth = ("admin@wgportal.local", ADMIN_TOKEN)

    def ok(method: str, route: str, body: dict[str, Any]) -> None:
        answer = admin.request(method, f"{api}/api/v1{route}", json=body, timeout=30)
        assert answer.status_code == 200, answer.text

    ok(
        "POST",
        "/interface/new",
        {"Identifier": "wg0", "Mode": "server", "PrivateKey": iface_private,
         "PublicKey": iface_public, "ListenPort": 51820, "Addresses": ["10.11.12.1/24"]},
    )  # fmt: skip
    peer = {
        "Identifier": peer_public, "InterfaceIdentifier": "wg0", "PrivateKey": peer_private,
        "PublicKey": peer_public, "PresharedKey": psk, "Addresses": ["10.11.12.2/32"],
    }  # fmt: skip
    ok("POST", "/peer/new", peer)
    ok(
        "POST",
        "/user/new",
        {"Identifier": "alice@x.test", "Password": USER_PASSWORD, "ApiToken": USER_API_TOKEN},
    )

    # Error answers that could echo what they were given.
    outputs: dict[str, str] = {}
    for name, (method, route, body, auth) in {
        "wrong credentials": ("GET", "/user/all", None, ("admin@wgportal.local", AUTH)),
        "a user's token": ("GET", "/user/all", None, ("alice@x.test", USER_API_TOKEN)),
        "a bad peer": ("POST", "/peer/new", {**peer, "Addresses": ["10.0.0.300/32"]}, None),
        "a malformed key": ("POST", "/peer/new", {**peer, "PresharedKey": AUTH}, None),
        "a duplicate peer": ("POST", "/peer/new", peer, None),
        "a short token": (
            "POST", "/user/new", {"Identifier": "b@x.test", "ApiToken": SHORT_TOKEN}, None
        ),
        "a password in an unknown field": (
            "POST", "/user/new", {"Identifier": "c@x.test", "Secret": USER_PASSWORD}, None
        ),
    }.items():  # fmt: skip
        answer = requests.request(
            method, f"{api}/api/v1{route}", json=body, auth=auth or admin.auth, timeout=30
        )
        assert 400 <= answer.status_code < 500, (name, answer.status_code)
        outputs[f"API error for {name}"] = answer.text

    wait_for(
        lambda: db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint = 'main'"
            " AND status = 'delivered'"
        ).fetchone() == (3,),
        timeout=90,
        what="the three events delivered to main after its 500s",
    )  # fmt: skip
    wait_for(
        lambda: db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint = 'closed' AND status = 'dead'"
        ).fetchone() == (3,),
        timeout=90,
        what="the three events dead at the closed endpoint",
    )  # fmt: skip

    outputs["API /metrics"] = requests.get(f"{api}/metrics", timeout=10).text
    for route in ("/webhooks/deliveries?limit=100", "/webhooks/endpoints"):
        outputs[f"API {route}"] = admin.get(f"{api}/api/v1{route}", timeout=10).text
    tasks: dict[str, Any] = wait_for(
        lambda: requests.get(f"{flower}/api/tasks", auth=FLOWER, timeout=10).json() or {},
        timeout=60,
        what="Flower to list tasks",
    )
    assert any(t.get("name") == "webhooks.deliver" for t in tasks.values())
    outputs["Flower /api/tasks"] = json.dumps(tasks)
    for task_id in list(tasks)[:20]:
        info = requests.get(f"{flower}/api/task/info/{task_id}", auth=FLOWER, timeout=10)
        outputs[f"Flower task {task_id}"] = info.text
    outputs["Flower /api/workers"] = requests.get(
        f"{flower}/api/workers", auth=FLOWER, timeout=30
    ).text
    outputs["Flower /metrics"] = requests.get(f"{flower}/metrics", auth=FLOWER, timeout=10).text
    outputs["stored errors and response bodies"] = repr(
        db.execute(
            "SELECT error, response_body FROM webhook_attempts"
            " UNION ALL SELECT last_error, NULL FROM webhook_deliveries"
        ).fetchall()
    )
    outputs["stored webhook bodies"] = repr(
        db.execute("SELECT body FROM webhook_events").fetchall()
    )
    outputs["webhook bodies received"] = "\n".join(r.body.decode() for r in receiver.requests)
    outputs["Redis commands"] = _with_bodies_decoded("\n".join(redis_traffic))
    outputs["Redis contents"] = _with_bodies_decoded(_redis_contents(redis_url))
    procs.stop_all()
    for name, text in procs.logs():
        outputs[f"log of {name}"] = text

    # the task messages were seen, and read: their (base64) bodies carry the arguments
    assert "webhooks.deliver" in outputs["Redis commands"], "MONITOR saw no task message"
    assert re.search(r"\[\[\d+(, \d+)*\], \"[0-9a-f-]{36}\"\]", outputs["Redis commands"])
    leaks = [
        f"{secret} in {where}"
        for secret, value in secrets.items()
        for where, text in outputs.items()
        if value in text
    ]
    assert leaks == []
