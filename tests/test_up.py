"""`wg-webhooks up` on a fresh data dir: embedded servers, a webhook reaches the sink, Ctrl-C
stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import requests

from services.embedded import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_up_serves_delivers_to_the_sink_and_stops_everything_on_sigint(tmp_path: Path) -> None:
    web, flower = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "WG_WEBHOOKS_CONFIG", "WG_PORTAL_CONFIG")
    }
    env.update(
        WG_WEBHOOKS_DATA_DIR=str(tmp_path / "data"),
        WG_PORTAL_WEB_LISTENING_ADDRESS=f"127.0.0.1:{web}",
        WG_PORTAL_FLOWER_LISTENING_ADDRESS=f"127.0.0.1:{flower}",
        WG_PORTAL_STATISTICS_COLLECT_PEER_DATA="false",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "up"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "wg-webhooks is up" in log_path.read_text(), timeout=120, what="up")
        assert requests.get(f"http://127.0.0.1:{web}/healthz", timeout=5).status_code == 200
        token = (tmp_path / "data" / "admin_api_token").read_text().strip()
        assert token in log_path.read_text()  # the banner prints the credentials
        flower_auth = (tmp_path / "data" / "flower_basic_auth").read_text().strip()
        assert flower_auth in log_path.read_text()
        wait_for(
            lambda: _status(f"http://127.0.0.1:{flower}/api/workers", flower_auth) == 200,
            timeout=60,
            what="Flower's API to answer with the printed login",
        )
        assert _status(f"http://127.0.0.1:{flower}/api/workers", None) == 401
        answer = requests.post(
            f"http://127.0.0.1:{web}/api/v1/user/new",
            json={"Identifier": "newcomer@example.com"},
            auth=("admin@wgportal.local", token),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        wait_for(
            lambda: "webhook received: create user newcomer@example.com" in log_path.read_text(),
            timeout=60,
            what="the sink to print the webhook",
        )
        _first_screen_is_the_banner_and_the_sink(log_path.read_text(), tmp_path / "data" / "logs")
        descendants = psutil.Process(up.pid).children(recursive=True)
        servers = [p for p in psutil.process_iter(["cmdline"])
                   if str(tmp_path) in " ".join(p.info["cmdline"] or [])]  # fmt: skip
        assert len(descendants) >= 5
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        for proc in descendants + servers:
            wait_for(lambda p=proc: not _alive(p), timeout=15, what=f"{proc} to exit")
        assert "[up] stopped" in log_path.read_text()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def _first_screen_is_the_banner_and_the_sink(screen: str, logs: Path) -> None:
    """Celery's banner, Flower's start-up lines and the running-as-root warning are in the
    components' log files, not on the terminal."""
    assert f"logs       {logs}/<component>.log" in screen
    for chatter in ("[tasks]", "[queues]", "Visit me at", "Registered tasks", "superuser"):
        assert chatter not in screen, chatter
    assert " ready." in (logs / "worker.log").read_text()
    assert "Visit me at" in (logs / "flower.log").read_text()
    if os.geteuid() == 0:
        assert "superuser privileges" in (logs / "worker.log").read_text()
    assert "webhook received" in (logs / "sink.log").read_text()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _status(url: str, auth: str | None) -> int:
    user, _, password = (auth or ":").partition(":")
    try:
        return requests.get(url, auth=(user, password) if auth else None, timeout=5).status_code
    except requests.RequestException:
        return 0
