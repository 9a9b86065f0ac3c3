"""The SSRF guard: webhooks never go to link-local or cloud metadata addresses, and with
`webhook.block_private_networks` not to loopback or private ones either, decided on the address
a connection is about to use (so DNS rebinding cannot slip past a check made earlier).

Nothing here sends a packet to a blocked address: names are answered by a stub resolver in this
process, and `socket.connect` is watched: it records every address and refuses any that is not
loopback, so even a broken guard could not reach one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.config import Settings
from tests.support.events import record_events
from tests.support.processes import Processes
from tests.support.receiver import Receiver, Reply
from tests.support.waiting import wait_for
from workers import http

Answers = dict[str, list[list[str]]]  # name -> the address lists of successive lookups


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every address this process connects to; anything but loopback is refused unsent."""
    seen: list[str] = []
    real = socket.socket.connect

    def watched(self: socket.socket, address: Any) -> None:
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        seen.append(host)
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise AssertionError(f"a connection to {host} was attempted")
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", watched)
    yield seen


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """A stub resolver: names in the dict answer in turn; address literals resolve as usual;
    any other name fails as a real one would. No query leaves the process."""
    answers: Answers = {}
    real = socket.getaddrinfo

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in answers:
            batch = answers[name].pop(0) if len(answers[name]) > 1 else answers[name][0]
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port))
                for a in batch
            ]  # fmt: skip
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return answers


_block_private = [False]  # webhook.block_private_networks for `_post`


@pytest.fixture
def policy() -> Iterator[Callable[[bool], None]]:
    """Set webhook.block_private_networks for the POSTs of this test."""

    def set_policy(block_private: bool) -> None:
        _block_private[0] = block_private

    yield set_policy
    _block_private[0] = False


def _post(url: str) -> http.Response:
    return http.post(
        url, b"{}", {"Content-Type": "application/json"}, 2.0, block_private=_block_private[0]
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked: 169.254.169.254 is link-local"),
        ("http://169.254.170.2/v2/credentials", "blocked: 169.254.170.2 is link-local"),
        ("http://[fd00:ec2::254]/latest", "blocked: fd00:ec2::254 is a cloud metadata address"),
        ("http://[fe80::1]:8080/", "blocked: fe80::1 is link-local"),
        ("http://100.100.100.200/", "blocked: 100.100.100.200 is a cloud metadata address"),
        (
            "http://[::ffff:169.254.169.254]/",
            "blocked: ::ffff:a9fe:a9fe (169.254.169.254) is link-local",
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "blocked: 64:ff9b::a9fe:a9fe (169.254.169.254) is link-local",
        ),
    ],
)
def test_metadata_and_link_local_addresses_are_never_connected_to(
    connects: list[str], dns: Answers, policy: Callable[[bool], None], url: str, error: str
) -> None:
    policy(False)
    answer = _post(url)
    assert (answer.status_code, answer.error) == (None, error)
    assert connects == []


def test_a_name_resolving_to_a_metadata_address_is_refused_at_connect_time(
    connects: list[str], dns: Answers, policy: Callable[[bool], None]
) -> None:
    policy(False)
    dns["metadata.test"] = [["169.254.169.254"]]
    dns["imds6.test"] = [["fd00:ec2::254"]]
    assert _post("http://metadata.test/x").error == "blocked: 169.254.169.254 is link-local"
    assert (
        _post("http://imds6.test/x").error == "blocked: fd00:ec2::254 is a cloud metadata address"
    )
    assert connects == []


def test_dns_rebinding_cannot_switch_a_checked_name_to_a_blocked_address(
    connects: list[str],
    dns: Answers,
    policy: Callable[[bool], None],
    receiver_factory: Callable[..., Receiver],
) -> None:
    policy(False)
    # The receiver closes every connection: each POST needs a new one, so a new lookup.
    receiver = receiver_factory(lambda _r, _q: Reply(headers={"Connection": "close"}))
    dns["rebind.test"] = [["127.0.0.1"], ["169.254.169.254"]]
    url = f"http://rebind.test:{receiver.port}/hook"
    assert _post(url).status_code == 200
    assert _post(url).error == "blocked: 169.254.169.254 is link-local"
    assert receiver.count() == 1
    assert connects == ["127.0.0.1"]


def test_of_several_addresses_only_an_allowed_one_is_used(
    connects: list[str],
    dns: Answers,
    policy: Callable[[bool], None],
    receiver: Receiver,
) -> None:
    policy(False)
    dns["mixed.test"] = [["169.254.169.254", "fe80::1", "127.0.0.1"]]
    assert _post(f"http://mixed.test:{receiver.port}/hook").status_code == 200
    assert connects == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:{port}/hook", "127.0.0.1 is loopback"),
        ("http://[::1]:{port}/hook", "::1 is loopback"),
        ("http://localhost:{port}/hook", "127.0.0.1 is loopback"),
        ("http://10.1.2.3/", "10.1.2.3 is not a public address"),
        ("http://172.16.0.1/", "172.16.0.1 is not a public address"),
        ("http://192.168.1.1/", "192.168.1.1 is not a public address"),
        ("http://100.64.0.1/", "100.64.0.1 is not a public address"),
        ("http://[fd12:3456::1]/", "fd12:3456::1 is not a public address"),
        ("http://0.0.0.0/", "0.0.0.0 is not a public address"),
        ("http://intranet.test/", "10.0.0.5 is not a public address"),
    ],
)
def test_block_private_networks_refuses_loopback_and_private_ranges(
    connects: list[str],
    dns: Answers,
    policy: Callable[[bool], None],
    receiver: Receiver,
    url: str,
    error: str,
) -> None:
    policy(True)
    dns["localhost"] = [["127.0.0.1"]]
    dns["intranet.test"] = [["10.0.0.5"]]
    answer = _post(url.format(port=receiver.port))
    assert answer.error == f"blocked: {error} (webhook.block_private_networks)"
    assert receiver.count() == 0
    assert connects == []


def test_a_worker_records_the_refusal_as_the_attempt_error(
    receiver: Receiver,
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    database_url: str,
    db: psycopg.Connection[Any],
) -> None:
    path, settings = config_factory(
        {"url": receiver.url, "block_private_networks": True, "retry_schedule": ["1h"]}
    )
    procs = processes_factory(path)
    procs.worker()
    procs.relay()
    record_events(database_url, settings, [("create", "user", "alice", {})])
    attempt = wait_for(
        lambda: db.execute("SELECT status_code, error FROM webhook_attempts").fetchone(),
        timeout=60,
        what="the attempt",
    )
    assert attempt == (None, "blocked: 127.0.0.1 is loopback (webhook.block_private_networks)")
    assert receiver.count() == 0
