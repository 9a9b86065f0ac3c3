"""`advanced.log_json: true`: every line every process writes is one JSON object, the delivery
lines carry their ids as fields, and no configured secret appears in any of them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import requests

from services.cli.child_output import json_of as _json_of
from services.config import Settings
from services.embedded import free_port
from tests.support.processes import Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for

AUTH = "Bearer log-test-AUTH-SECRET-5b7e"
SIGNING = "whsec_" + base64.b64encode(b"LOG-SIGNING-SECRET-0123456789").decode()
ADMIN_TOKEN = "log-test-admin-token-SECRET-c4d1"
FLOWER = "ops:log-test-flower-SECRET-9e2f"


def test_with_log_json_every_line_of_api_relay_worker_and_flower_is_json_without_secrets(
    receiver_factory: Callable[..., Receiver],
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    db: psycopg.Connection[Any],
) -> None:
    receiver = receiver_factory(
        lambda r, _q: Reply(503, body=b"busy") if r.count() <= 2 else Reply(200)
    )
    api_port, flower_port = free_port(), free_port()
    path, _ = config_factory(
        {"endpoints": [
            {"name": "main", "url": receiver.url, "authentication": AUTH,
             "signing_secret": SIGNING},
        ]},
        core={"admin_user": "admin@wgportal.local", "admin_api_token": ADMIN_TOKEN},
        web={"listening_address": f"127.0.0.1:{api_port}"},
        flower={"basic_auth": FLOWER, "listening_address": f"127.0.0.1:{flower_port}"},
        advanced={"log_json": True, "log_level": "debug"},
    )  # fmt: skip
    procs = processes_factory(path)
    api = procs.start("api")
    wait_for(lambda: _answers(f"http://127.0.0.1:{api_port}/healthz"), timeout=60, what="the API")
    procs.worker()
    procs.relay()
    flower = procs.start("flower")
    wait_for(
        lambda: flower.alive() and _answers(f"http://127.0.0.1:{flower_port}/healthcheck"),
        timeout=60,
        what="Flower",
    )
    answer = requests.post(
        f"http://127.0.0.1:{api_port}/api/v1/user/new",
        json={"Identifier": "json-logs@example.com"},
        auth=("admin@wgportal.local", ADMIN_TOKEN),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    wait_for(
        lambda: db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
        ).fetchone() == (1,),
        timeout=60,
        what="the delivery after two 503s",
    )  # fmt: skip
    procs.stop_all()
    assert api.popen.returncode is not None

    records: dict[str, list[dict[str, Any]]] = {}
    for name, text in procs.logs():
        lines = text.splitlines()
        assert lines, f"{name} wrote nothing"
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"{name} wrote a line that is not JSON: {line!r}") from None
            assert isinstance(record, dict) and {"time", "level", "msg"} <= record.keys(), line
            for secret in (AUTH, SIGNING, SIGNING.removeprefix("whsec_"), ADMIN_TOKEN, FLOWER):
                assert secret not in line, f"{name} logged a secret: {line}"
        records[name] = [json.loads(line) for line in lines]

    attempts = [r for r in records["worker-0"] if "delivery_id" in r]
    assert [(r["endpoint"], r["attempt"]) for r in attempts] == [
        ("main", 1),
        ("main", 2),
        ("main", 3),
    ]
    assert len({r["delivery_id"] for r in attempts}) == 1
    assert len({r["event_id"] for r in attempts}) == 1
    assert any(r.get("endpoint") == "main" for r in records["relay-0"])  # its claims
    assert any(r["logger"].startswith("celery") for r in records["worker-0"])  # Celery's own
    assert any(r["logger"].startswith("uvicorn") for r in records["api-0"])  # uvicorn's own
    assert any(r["logger"].startswith(("flower", "tornado")) for r in records["flower-0"])
    for name in ("api-0", "worker-0", "relay-0"):  # advanced.log_level: debug reached each
        assert any(r["level"] == "DEBUG" for r in records[name]), name


def test_up_forwards_its_children_lines_as_json_naming_them() -> None:
    record = json.loads(_json_of('{"time": "t", "level": "INFO", "msg": "hi"}\n', "relay"))
    assert record == {"time": "t", "level": "INFO", "msg": "hi", "component": "relay"}
    stray = json.loads(_json_of("some library's print\n", "flower"))
    assert (stray["msg"], stray["component"], stray["level"]) == (
        "some library's print",
        "flower",
        "INFO",
    )


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
