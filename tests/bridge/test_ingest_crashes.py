"""Ingest under kills: every webhook wg-portal got a 200 for reaches the receiver.

wg-portal sends each webhook once and forgets it, so the 200 is the hand-over: from then on the
event is wg-webhooks' to deliver. The API, the relay and the worker are each SIGKILLed once while
webhooks keep arriving, and restarted as a supervisor would; a webhook sent while the API is down
fails (wg-portal would log it, and reconcile would find the change).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from services.config import Settings
from services.embedded import free_port
from tests.bridge.conftest import INGEST_KEY, fixture_bytes
from tests.support.processes import Proc, Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

EVENTS = 240
PACE = 0.03  # seconds between webhooks: the kills land while they arrive


def _user_create(n: int) -> tuple[str, bytes]:
    data = json.loads(fixture_bytes("v2.2_user_create"))
    name = f"user-{n}@example.com"
    data["identifier"] = data["payload"]["Identifier"] = data["payload"]["Email"] = name
    return name, json.dumps(data, separators=(",", ":")).encode()


def _start_api(procs: Processes, url: str) -> Proc:
    proc = procs.start("api")

    def up() -> bool:
        assert proc.alive(), proc.log()[-3000:]
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(up, timeout=30, what="the API to answer")
    return proc


def test_nothing_that_got_a_200_is_lost_when_api_relay_and_worker_are_killed(
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    receiver: Receiver,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path, _ = config_factory(
        {"url": receiver.url},
        ingest={"authentication": INGEST_KEY},
        web={"listening_address": f"127.0.0.1:{port}"},
    )
    procs = processes_factory(path)
    workers, relays = [procs.worker()], [procs.relay()]
    apis = [_start_api(procs, url)]
    accepted: list[str] = []
    refused = 0
    sent = [0]
    done = threading.Event()

    def wg_portal() -> None:
        nonlocal refused
        session = requests.Session()
        for n in range(EVENTS):
            name, body = _user_create(n)
            sent[0] = n + 1
            try:
                answer = session.post(
                    f"{url}/ingest/wg-portal",
                    data=body,
                    headers={"Authorization": INGEST_KEY, "Content-Type": "application/json"},
                    timeout=10,
                )
            except requests.RequestException:
                refused += 1
                session = requests.Session()
            else:
                if answer.status_code == 200:
                    accepted.append(name)
                else:
                    refused += 1
            time.sleep(PACE)
        done.set()

    sender = threading.Thread(target=wg_portal, daemon=True)
    sender.start()
    for at, kill in (
        (EVENTS // 5, lambda: apis[-1].kill()),
        (2 * EVENTS // 5, lambda: workers[-1].kill()),
        (3 * EVENTS // 5, lambda: relays[-1].kill()),
    ):
        wait_for(lambda at=at: sent[0] >= at or done.is_set(), timeout=60, what=f"{at} sent")
        kill()
        time.sleep(0.3)
        if not apis[-1].alive():
            apis.append(_start_api(procs, url))
        if not workers[-1].alive():
            workers.append(procs.worker())
        if not relays[-1].alive():
            relays.append(procs.relay())
    sender.join(60)
    assert done.is_set()
    assert len(accepted) > EVENTS // 2 and refused > 0  # most arrived while the API was up

    def received() -> set[str]:
        with receiver.lock:
            return {json.loads(r.body)["identifier"] for r in receiver.requests}

    wait_for(lambda: set(accepted) <= received(), timeout=120, what="every accepted webhook")
    assert set(accepted) <= received()
    assert len(apis) == 2 and len(workers) == 2 and len(relays) == 2  # each was killed once
