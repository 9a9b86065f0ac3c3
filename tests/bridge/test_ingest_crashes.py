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

STEP = 25  # webhooks accepted before each kill, and after the last one
MAX_EVENTS = 5_000  # a bound on the sender, far above what the test needs
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
    refused = [0]
    stop = threading.Event()

    def wg_portal() -> None:
        session = requests.Session()
        for n in range(MAX_EVENTS):
            if stop.is_set():
                return
            name, body = _user_create(n)
            try:
                answer = session.post(
                    f"{url}/ingest/wg-portal",
                    data=body,
                    headers={"Authorization": INGEST_KEY, "Content-Type": "application/json"},
                    timeout=10,
                )
            except requests.RequestException:
                refused[0] += 1
                session = requests.Session()
            else:
                if answer.status_code == 200:
                    accepted.append(name)
                else:
                    refused[0] += 1
            time.sleep(PACE)

    sender = threading.Thread(target=wg_portal, daemon=True)
    sender.start()
    try:
        # Each kill lands once STEP more webhooks were accepted since the last one.
        for kill in (
            lambda: apis[-1].kill(),
            lambda: workers[-1].kill(),
            lambda: relays[-1].kill(),
        ):
            goal = len(accepted) + STEP
            wait_for(lambda goal=goal: len(accepted) >= goal, timeout=90, what=f"{goal} accepted")
            kill()
            time.sleep(0.3)
            if not apis[-1].alive():
                apis.append(_start_api(procs, url))
            if not workers[-1].alive():
                workers.append(procs.worker())
            if not relays[-1].alive():
                relays.append(procs.relay())
        goal = len(accepted) + STEP
        wait_for(lambda: len(accepted) >= goal, timeout=90, what="webhooks after the last kill")
    finally:
        stop.set()
        sender.join(30)
    assert refused[0] > 0  # some arrived while the API was down: wg-portal's to lose

    def received() -> set[str]:
        with receiver.lock:
            return {json.loads(r.body)["identifier"] for r in receiver.requests}

    wait_for(lambda: set(accepted) <= received(), timeout=120, what="every accepted webhook")
    assert set(accepted) <= received()
    assert len(apis) == 2 and len(workers) == 2 and len(relays) == 2  # each was killed once
