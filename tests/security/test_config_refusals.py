"""Configuration that would send webhooks somewhere wrong, or wait absurdly long, stops start-up
with one line naming the key. Host names are resolved only when asked (start-up), and a test
never needs a real name server: `.invalid` never resolves, and the resolver is stubbed for the
rest."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.config import ConfigError, load_settings
from tests.support.processes import ROOT


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def _refused(tmp_path: Path, text: str, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), env={}, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "unix:///run/receiver.sock",
        "ws://127.0.0.1/x",
        "http:/missing-slash",
        "//127.0.0.1/x",
        "http://",
    ],
)
def test_a_webhook_url_that_is_not_http_or_https_is_refused(tmp_path: Path, url: str) -> None:
    error = _refused(tmp_path, f"webhook:\n  url: '{url}'\n")
    assert error.key == "webhook.url"
    error = _refused(
        tmp_path,
        "webhook:\n  endpoints:\n    - name: ok\n      url: http://127.0.0.1:1/\n"
        f"    - name: bad\n      url: '{url}'\n",
    )
    assert error.key == "webhook.endpoints[1].url"


def test_an_unresolvable_host_is_refused_at_start_naming_the_key(tmp_path: Path) -> None:
    error = _refused(tmp_path, "webhook:\n  url: http://hooks.invalid/x\n", resolve_hosts=True)
    assert error.key == "webhook.url"
    assert "'hooks.invalid' does not resolve" in str(error)
    error = _refused(
        tmp_path,
        "webhook:\n  url: http://127.0.0.1:1/\n  endpoints:\n"
        "    - name: billing\n      url: https://billing.invalid/hooks\n",
        resolve_hosts=True,
    )
    assert error.key == "webhook.endpoints[0].url"


def test_a_name_the_resolver_says_does_not_exist_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def nxdomain(host: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    error = _refused(
        tmp_path,
        "webhook:\n  url: https://hooks.example.net/x\n  endpoints:\n"
        "    - name: again\n      url: https://hooks.example.net/y\n",
        resolve_hosts=True,
    )
    assert error.key == "webhook.url"
    assert "'hooks.example.net' does not resolve (Name or service not known)" in str(error)
    assert asked == ["hooks.example.net"]  # one lookup per distinct name


def test_a_resolver_that_never_answers_does_not_hang_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    from services.host_resolution import check_hosts_resolve

    release = threading.Event()

    def hangs(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hangs)
    try:
        check_hosts_resolve([("webhook.url", "https://hooks.example.net/x")], timeout=0.2)
    finally:
        release.set()
    assert "webhook.url: no answer resolving hooks.example.net within 0.2s" in caplog.text


def test_resolvable_names_and_addresses_pass(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "webhook:\n  url: http://localhost:1/\n  endpoints:\n"
        "    - name: v6\n      url: 'http://[::1]:1/'\n",
    )
    settings = load_settings(path, env={}, resolve_hosts=True)
    assert [e.name for e in settings.webhook.endpoints] == ["default", "v6"]


def test_without_resolve_hosts_no_name_is_looked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_lookups(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"looked up {args[0]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookups)
    load_settings(_write(tmp_path, "webhook:\n  url: http://hooks.invalid/x\n"), env={})


def test_an_unreachable_resolver_does_not_stop_an_offline_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def offline(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    path = _write(tmp_path, "webhook:\n  url: https://hooks.example.net/x\n")
    settings = load_settings(path, env={}, resolve_hosts=True)
    assert settings.webhook.endpoints[0].url == "https://hooks.example.net/x"
    assert "webhook.url: cannot resolve hooks.example.net now" in caplog.text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("webhook:\n  timeout: -5s\n", "webhook.timeout"),
        ("webhook:\n  timeout: 300d\n", "webhook.timeout"),
        ("webhook:\n  timeout: 2h\n", "webhook.timeout"),
        ("webhook:\n  timeout: 1ns\n", "webhook.timeout"),
        ("webhook:\n  timeout: 0s\n", "webhook.timeout"),
        ("webhook:\n  retry_schedule: [5s, -1s]\n", "webhook.retry_schedule"),
        ("webhook:\n  retry_schedule: [5s, 30d]\n", "webhook.retry_schedule"),
        ("webhook:\n  lease_grace: -1m\n", "webhook.lease_grace"),
        ("webhook:\n  lease_grace: 2d\n", "webhook.lease_grace"),
        ("webhook:\n  poll_interval: 1us\n", "webhook.poll_interval"),
        ("webhook:\n  poll_interval: 1h\n", "webhook.poll_interval"),
        ("webhook:\n  retention: -1h\n", "webhook.retention"),
        ("webhook:\n  disable_after: 9999d\n", "webhook.disable_after"),
        ("statistics:\n  data_collection_interval: -1s\n", "statistics.data_collection_interval"),
        ("statistics:\n  data_collection_interval: 3d\n", "statistics.data_collection_interval"),
        ("statistics:\n  disconnect_grace: 2d\n", "statistics.disconnect_grace"),
        ("backend:\n  rekey_timeout_interval: 100ms\n", "backend.rekey_timeout_interval"),
        (
            "webhook:\n  endpoints:\n    - name: a\n      url: http://127.0.0.1:1/\n"
            "      timeout: 90m\n",
            "webhook.endpoints[0].timeout",
        ),
    ],
)
def test_a_negative_or_absurd_duration_is_refused_naming_its_key(
    tmp_path: Path, text: str, key: str
) -> None:
    error = _refused(tmp_path, text)
    assert error.key == key
    assert str(error).startswith(f"{key}: ")


def test_a_refused_config_stops_a_process_at_start_with_one_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "webhook:\n  endpoints:\n    - name: meta\n      url: gopher://169.254.169.254/\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "--config", path, "relay"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("wg-webhooks: config error: webhook.endpoints[0].url: ")


def test_a_service_command_refuses_an_unresolvable_host_at_start(tmp_path: Path) -> None:
    path = _write(tmp_path, "webhook:\n  url: https://hooks.invalid/in\n")
    for command in ("relay", "worker", "api", "up"):
        done = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "--config", path, command],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "WG_WEBHOOKS_DATA_DIR": str(tmp_path / "data")},
        )  # fmt: skip
        assert done.returncode == 2, (command, done.stderr)
        (line,) = done.stderr.strip().splitlines()
        assert line == (
            "wg-webhooks: config error: webhook.url: "
            "host 'hooks.invalid' does not resolve (a .invalid name)"
        ), command
        assert not (tmp_path / "data").exists(), command  # refused before anything started
