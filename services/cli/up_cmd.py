"""`wg-webhooks up`: the whole stack in one terminal, supervised.

Embedded Postgres and Redis when no URLs are configured, migrations, then the API, relay,
worker, collector and Flower as child processes (plus a printing sink when no webhook URL is
configured). A child that dies is restarted with backoff; Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.cli import context
from services.cli.child_output import ChildOutput
from services.cli.logging_setup import json_line
from services.config import Settings
from services.credentials import kept_secret
from services.db.migrate import migrate
from services.durations import format_duration
from services.embedded import free_port
from services.masking import public_url

STOP_TIMEOUT = 20.0
_PR_SET_PDEATHSIG = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-flower", action="store_true", help="do not start Flower")
    parser.add_argument("--no-collector", action="store_true", help="do not start the collector")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `up` itself dies (even by SIGKILL), never linger."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    readers: list[threading.Thread] = field(default_factory=list)
    output: ChildOutput | None = None  # set by `run`: where its lines go

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches `up` only; `up` stops children in order
            preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        reader = threading.Thread(target=self._pump, args=(self.process,), daemon=True)
        reader.start()
        self.readers = [reader]

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None and self.output is not None
        self.output.open()
        try:
            for raw in iter(process.stdout.readline, b""):
                self.output.line(raw)
        finally:
            self.output.close()


def _say(log_json: bool, message: str, prefix: str = "[up] ") -> None:
    """A line (or the banner) of `up` itself; with log_json one JSON object."""
    if log_json:
        print(json_line(message, component="up"), flush=True)
    else:
        print(f"{prefix}{message}", flush=True)


def _log_dir(settings: Settings) -> Path:
    return settings.data_dir / "logs"


def _kept_secret(settings: Settings, configured: str, name: str, make: str) -> tuple[str, bool]:
    """The configured value, or one made for this data dir and kept across runs."""
    if configured:
        return configured, False
    return kept_secret(settings.data_dir / name, make), True


def _admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin API token (`core.admin_api_token`, else generated: API access needs one)."""
    return _kept_secret(
        settings, settings.core.admin_api_token, "admin_api_token", secrets.token_urlsafe(32)
    )


def _flower_auth(settings: Settings) -> tuple[str, bool]:
    """Flower's user:password (`flower.basic_auth`, else generated: Flower 2 answers its API
    only with authentication, and the operator recipes use that API)."""
    return _kept_secret(
        settings,
        settings.flower_basic_auth,
        "flower_basic_auth",
        "admin:" + secrets.token_urlsafe(16),
    )


def _command(name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "services.cli.main", name, *extra]


def plan(settings: Settings, args: argparse.Namespace, env: dict[str, str]) -> list[Child]:
    children: list[Child] = []
    if not settings.webhook.endpoints:
        port = free_port()
        env["WG_PORTAL_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/"
        children.append(Child("sink", _command("sink", "--port", str(port))))
    children.append(Child("api", _command("api")))
    children.append(Child("relay", _command("relay")))
    children.append(Child("worker", _command("worker")))
    if settings.statistics.collect_peer_data and not args.no_collector:
        children.append(Child("collector", _command("collector")))
    if not args.no_flower:
        children.append(Child("flower", _command("flower")))
    return children


def _banner(
    settings: Settings,
    token: str,
    generated: bool,
    flower_auth: str,
    flower_generated: bool,
    children: list[Child],
) -> str:
    lines = [
        "",
        "wg-webhooks is up",
        f"  REST API   http://{settings.web}/api/v1   (OpenAPI: http://{settings.web}/docs)",
        f"  admin      {settings.core.admin_user} / {token}"
        + (f"   (generated, kept in {settings.data_dir / 'admin_api_token'})" if generated else ""),
    ]
    if any(c.name == "flower" for c in children):
        where = settings.data_dir / "flower_basic_auth"
        lines.append(
            f"  Flower     http://{settings.flower}/   login {flower_auth}"
            + (f"   (generated, kept in {where})" if flower_generated else "")
        )
    if any(c.name == "sink" for c in children):
        lines.append("  webhooks   no webhook.url configured: a local sink prints them here")
    else:
        for endpoint in settings.webhook.endpoints:
            lines.append(f"  endpoint   {endpoint.name} -> {public_url(endpoint.url)}")
    if settings.portal.url:
        lines.append(
            f"  wg-portal  {public_url(settings.portal.url)}   reconciled every "
            f"{format_duration(settings.portal.reconcile_interval)} (docs/bridge.md)"
        )
    lines.append(f"  logs       {_log_dir(settings)}/<component>.log   (all; here: warnings)")
    lines.append("  stop       Ctrl-C")
    lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = context.load(args.config, resolve_hosts=True)
    settings, stack = context.with_servers(settings)
    for note in stack.notes:
        _say(settings.advanced.log_json, note)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children: list[Child] = []
    try:
        applied = migrate(settings.database_dsn)
        _say(settings.advanced.log_json, f"migrations: {len(applied)} applied")
        token, generated = _admin_token(settings)
        env = dict(os.environ)
        env["WG_PORTAL_CORE_ADMIN_API_TOKEN"] = token
        flower_auth, flower_generated = _flower_auth(settings)
        env["WG_PORTAL_FLOWER_BASIC_AUTH"] = flower_auth
        env["PYTHONUNBUFFERED"] = "1"
        children = plan(settings, args, env)
        for child in children:
            child.output = ChildOutput(child.name, _log_dir(settings), settings.advanced.log_json)
            child.start(env)
        if _wait_ready(settings, stopping):
            banner = _banner(settings, token, generated, flower_auth, flower_generated, children)
            _say(settings.advanced.log_json, banner, prefix="")
        _supervise(children, env, stopping)
    finally:
        _stop_all(children)
        stack.stop()
        _say(settings.advanced.log_json, "stopped")
    return 0


def _wait_ready(settings: Settings, stopping: threading.Event) -> bool:
    import urllib.request

    host = "127.0.0.1" if settings.web.host in ("0.0.0.0", "::") else settings.web.host  # noqa: S104
    url = f"http://{host}:{settings.web.port}/readyz"
    deadline = time.monotonic() + 60
    while not stopping.is_set() and time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return True
        time.sleep(0.2)
    return False


def _supervise(children: list[Child], env: dict[str, str], stopping: threading.Event) -> None:
    while not stopping.is_set():
        now = time.monotonic()
        for child in children:
            process = child.process
            if process is not None and process.poll() is not None:
                code = process.returncode
                if now - child.started_at > 60:
                    child.restarts = 0  # it ran a good while: start the backoff over
                delay = min(30.0, 2.0**child.restarts)
                _say(
                    child.output is not None and child.output.log_json,
                    f"{child.name} exited with code {code}; restarting in {delay:g}s",
                )
                child.restarts += 1
                child.next_start = now + delay
                child.process = None
            elif process is None and now >= child.next_start:
                child.start(env)
        stopping.wait(0.5)


def _stop_all(children: list[Child]) -> None:
    running = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in running:
        assert child.process is not None
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log_json = child.output is not None and child.output.log_json
            _say(log_json, f"{child.name} did not stop in time: killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
    for child in children:
        for reader in child.readers:
            reader.join(timeout=1)
