"""Real WireGuard end to end: a handshake in a network namespace becomes a `connect` webhook.

Two namespaces created here, joined by a veth pair (192.0.2.0/24, TEST-NET-1, inside them only),
each with a wireguard-go device (tunnel 198.51.100.0/24). The server interface and the client peer
are created through the REST API; the test brings the devices up with `wg set` / `ip` using the
keys the API made. The client sends one UDP datagram through the tunnel; the collector (in the root
namespace, reading `ip netns exec SERVER wg show all dump`), the relay and a Celery worker turn the
handshake into a `connect` POST to a receiver on 127.0.0.1. Then the client is torn down and, with
a 3 s rekey timeout, the `disconnect` follows.

No packet leaves the namespaces this test creates, except to 127.0.0.1.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.config import Settings
from tests.collector.netns import Lab, missing_prerequisite
from tests.conftest import skip_or_fail
from tests.support.processes import Processes
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

SERVER_VETH = "192.0.2.1"
CLIENT_VETH = "192.0.2.2"
TUNNEL = "198.51.100.0/24"
SERVER_TUNNEL = "198.51.100.1"
LISTEN_PORT = 51820
REKEY = "3s"
INTERVAL = "500ms"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    reason = missing_prerequisite()
    if reason is not None:
        skip_or_fail(reason)
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def _api(settings: Settings) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy from the environment
    session.auth = (settings.core.admin_user, settings.core.admin_api_token)
    return session


def _call(session: requests.Session, method: str, url: str, **kw: Any) -> dict[str, Any]:
    response = session.request(method, url, timeout=30, **kw)
    assert response.status_code == 200, f"{method} {url}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _events(receiver: Receiver, event: str) -> list[dict[str, Any]]:
    return [b for b in receiver.bodies() if b["event"] == event]


def test_handshake_sends_connect_and_silence_sends_disconnect(
    lab: Lab,
    tmp_path: Path,
    receiver: Receiver,
    config_factory: Callable[..., tuple[Path, Settings]],
    processes_factory: Callable[[Path], Processes],
    api_url_factory: Callable[[Settings], str],
    db: psycopg.Connection[Any],
) -> None:
    server_ns, client_ns = lab.namespace("s"), lab.namespace("c")
    lab.veth((server_ns, f"{SERVER_VETH}/24"), (client_ns, f"{CLIENT_VETH}/24"))
    server_dev, client_dev = f"wgs{lab.suffix}", f"wgc{lab.suffix}"

    config, settings = config_factory(
        {"url": receiver.url},
        backend={"rekey_timeout_interval": REKEY},
        statistics={
            "data_collection_interval": INTERVAL,
            "wg_command": shlex.join(
                ["ip", "netns", "exec", server_ns, "wg", "show", "all", "dump"]
            ),
        },
    )

    # The server interface and the client peer, through the REST API (keys made by the API).
    base = api_url_factory(settings)
    api = _api(settings)
    interface = _call(api, "GET", f"{base}/api/v1/interface/prepare")
    interface.update(
        Identifier=server_dev,
        DisplayName="e2e server",
        ListenPort=LISTEN_PORT,
        Addresses=[f"{SERVER_TUNNEL}/24"],
        PeerDefNetwork=[TUNNEL],
        PeerDefEndpoint=f"{SERVER_VETH}:{LISTEN_PORT}",
        PeerDefAllowedIPs=[f"{SERVER_TUNNEL}/32"],
    )
    interface = _call(api, "POST", f"{base}/api/v1/interface/new", json=interface)
    peer = _call(api, "GET", f"{base}/api/v1/peer/prepare/{server_dev}")
    peer = _call(api, "POST", f"{base}/api/v1/peer/new", json=peer)
    client_key = peer["Identifier"]
    [client_address] = peer["Addresses"]
    assert peer["PrivateKey"] and peer["PresharedKey"]

    # The devices, configured with those keys, the way wg-portal's backend would.
    secrets = tmp_path / "keys"
    secrets.mkdir(mode=0o700)

    def secret(name: str, value: str) -> str:
        path = secrets / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        return str(path)

    psk = secret("psk", peer["PresharedKey"])
    server = lab.wireguard(server_ns, server_dev)
    server.wg(
        "set", server_dev,
        "private-key", secret("server", interface["PrivateKey"]),
        "listen-port", str(LISTEN_PORT),
        "peer", client_key, "preshared-key", psk, "allowed-ips", client_address,
    )  # fmt: skip
    server.ip("addr", "add", f"{SERVER_TUNNEL}/24", "dev", server_dev)
    server.ip("link", "set", server_dev, "up")
    client = lab.wireguard(client_ns, client_dev)
    client.wg(
        "set", client_dev,
        "private-key", secret("client", peer["PrivateKey"]),
        "peer", interface["PublicKey"], "preshared-key", psk,
        "endpoint", f"{SERVER_VETH}:{LISTEN_PORT}", "allowed-ips", f"{SERVER_TUNNEL}/32",
    )  # fmt: skip
    client.ip("addr", "add", client_address, "dev", client_dev)
    client.ip("link", "set", client_dev, "up")
    client.ip("route", "add", f"{SERVER_TUNNEL}/32", "dev", client_dev)
    client_port = int(client.wg("show", client_dev, "listen-port"))

    procs = processes_factory(config)
    procs.worker()
    procs.relay()
    collector = procs.start("collector")
    wait_for(lambda: "collector started" in collector.log(), timeout=60, what="collector")

    # Before any traffic: the peer is recorded as never connected, and nothing is sent.
    wait_for(
        lambda: db.execute(
            "SELECT is_connected, last_handshake FROM peer_status WHERE peer_identifier = %s",
            (client_key,),
        ).fetchone(),
        timeout=30,
        what="the first status row",
    )

    lab.send_udp(client_ns, SERVER_TUNNEL, 9, b"hello through the tunnel")
    [connect] = wait_for(lambda: _events(receiver, "connect"), timeout=60, what="connect")
    assert (connect["entity"], connect["identifier"]) == ("peer", client_key)
    payload = connect["payload"]
    assert payload["PeerId"] == client_key
    assert payload["IsConnected"] is True
    assert payload["BytesReceived"] > 0 and payload["BytesTransmitted"] > 0
    assert payload["Endpoint"] == f"{CLIENT_VETH}:{client_port}"
    assert payload["LastHandshake"] is not None
    assert payload["LastSessionStart"] is not None
    assert payload["LastPing"] is None

    # The client goes away; the server's last handshake ages past the 3 s rekey timeout.
    lab.tear_down(f"stop wireguard-go {client_dev}")
    [disconnect] = wait_for(lambda: _events(receiver, "disconnect"), timeout=60, what="disconnect")
    assert (disconnect["entity"], disconnect["identifier"]) == ("peer", client_key)
    assert disconnect["payload"]["IsConnected"] is False
    assert disconnect["payload"]["PeerId"] == client_key
    assert disconnect["payload"]["Endpoint"] == payload["Endpoint"]
    assert disconnect["payload"]["LastHandshake"] == payload["LastHandshake"]

    # Exactly one of each. The client's device, which `wg show all` lists too (userspace devices
    # share /var/run/wireguard), is unknown to the database and was left alone.
    assert [b["event"] for b in receiver.bodies() if b["entity"] == "peer"] == [
        "create",
        "connect",
        "disconnect",
    ]
    rows = db.execute("SELECT peer_identifier, interface_identifier FROM peer_status").fetchall()
    assert rows == [(client_key, server_dev)]
    collector.terminate()
    assert "Traceback" not in collector.log()
