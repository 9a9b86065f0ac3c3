"""What an operator's tooling asks a running wg-webhooks: its version, its process figures, how
long each API route takes, and whether a relay's loop still turns."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import requests

from services.config import Settings
from services.embedded import free_port
from tests.operations.test_metrics import scrape, value
from tests.support.processes import ROOT, Processes
from tests.support.waiting import wait_for
from workers.relay_probe import Heartbeat, serve_probe

INSTALLED = version("wg-webhooks")


def test_version_comes_from_the_package_metadata() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "--version"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.strip() == f"wg-webhooks {INSTALLED}"


def test_metrics_carry_the_build_the_process_and_request_durations_by_route(
    config_factory: Callable[..., tuple[Path, Settings]],
    api_url_factory: Callable[[Settings], str],
) -> None:
    _, settings = config_factory()
    api = api_url_factory(settings)
    admin = ("admin@wgportal.local", "test-admin-token")
    for ident in ("alice@x.test", "bob@x.test"):
        answer = requests.get(f"{api}/api/v1/user/by-id/{ident}", auth=admin, timeout=10)
        assert answer.status_code == 404
    assert requests.get(f"{api}/no/such/route", timeout=10).status_code == 404
    text, samples = scrape(api)
    assert value(samples, "wg_webhooks_build_info", version=INSTALLED) == 1.0
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "process_cpu_seconds_total") > 0
    by_id = {"method": "GET", "route": "/api/v1/user/by-id/{id:path}", "status": "404"}
    assert value(samples, "wg_webhooks_http_request_duration_seconds_count", **by_id) == 2.0
    assert value(samples, "wg_webhooks_http_request_duration_seconds_sum", **by_id) > 0
    unmatched = {"method": "GET", "route": "(unmatched)", "status": "404"}
    assert value(samples, "wg_webhooks_http_request_duration_seconds_count", **unmatched) == 1.0
    assert "alice@x.test" not in text and "/no/such/route" not in text  # templates, not paths


def test_a_running_relay_answers_its_liveness_probe(
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
) -> None:
    path, _ = config_factory()
    port = free_port()
    relay = processes_factory(path).start("relay", "--probe", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"

    def live() -> bool:
        assert relay.alive(), relay.log()[-3000:]
        try:
            return requests.get(f"{url}/livez", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(live, timeout=60, what="the relay's probe")
    assert requests.get(f"{url}/other", timeout=5).status_code == 404


def test_a_stuck_relay_loop_fails_the_probe_and_a_turning_one_passes() -> None:
    heartbeat = Heartbeat()
    port = free_port()
    server = serve_probe("127.0.0.1", port, heartbeat, max_age=0.5)
    try:
        assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).status_code == 200
        time.sleep(0.7)  # no beat: the loop is stuck
        stuck = requests.get(f"http://127.0.0.1:{port}/livez", timeout=5)
        assert (stuck.status_code, stuck.text) == (503, "relay loop stuck for 1s\n")
        heartbeat.beat()
        assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_relay_refuses_a_bad_probe_address() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "relay", "--probe", "nowhere"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("wg-webhooks: config error: --probe: 'nowhere' is not host:port")
