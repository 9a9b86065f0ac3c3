"""A fake wg-portal REST API v1 on 127.0.0.1: the third party reconcile reads, which the tests
cannot run.

It serves the three listings reconcile uses (`GET /api/v1/user/all`, `/interface/all`,
`/peer/by-interface/{id}`) with wg-portal's JSON as its Go code writes it, built from
internal/app/api/v1/models (v2.3: models_user.go, models_interface.go, models_peer.go,
model_options.go) and internal/app/api/core/respond (`json.NewEncoder(w).Encode`: compact, HTML
characters escaped, a trailing newline): keys in struct order, `omitempty` keys left out when
empty (`Password`, `ApiToken`, `ExpiresAt`, `Overridable`), lists `[]` (wg-portal builds them
with `make`), computed fields (`PeerCount`, `EnabledPeers`, `TotalPeers`, `Filename`) computed as
wg-portal computes them. Basic auth as wg-portal's v1 authenticator answers it
(internal/app/api/v1/handlers/web_authentication.go). `legacy_users` serves v2.0/v2.1's user
model (`Source`, `ProviderName`) instead of v2.2's `AuthSources`.

Faults a test can script, per path prefix: `fail` (an error status with wg-portal's
`{"Code","Message"}` body), `hang` (accept, never answer), `truncate` (announce the whole body,
send half of it, close), `drop_last` (a well-formed list missing its last entry), `delay`
(answer normally, late), `hold` (answer normally once the test sets `proceed`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

API_USER = "admin@wgportal.local"
API_TOKEN = "portal-api-token-0123456789abcdef"  # a test credential

_FILE_UNSAFE = re.compile(r"[^a-zA-Z0-9-_]+")  # wg-portal's allowedFileNameRegex


def go_json(value: Any) -> bytes:
    """Go's `json.NewEncoder(w).Encode(value)`: compact, <>& and U+2028/9 escaped, newline."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text.encode() + b"\n"


def option(value: Any, overridable: bool = False) -> dict[str, Any]:
    """models.ConfigOption[T]: `Overridable` is omitempty."""
    return {"Value": value, "Overridable": True} if overridable else {"Value": value}


def user_model(identifier: str, **fields: Any) -> dict[str, Any]:
    """models.User (v2.2+) without the computed PeerCount, zero values as Go has them."""
    model: dict[str, Any] = {
        "Identifier": identifier,
        "Email": "",
        "AuthSources": ["db"],
        "IsAdmin": False,
        "Firstname": "",
        "Lastname": "",
        "Phone": "",
        "Department": "",
        "Notes": "",
        "Disabled": False,
        "DisabledReason": "",
        "Locked": False,
        "LockedReason": "",
        "ApiEnabled": False,
    }
    _update(model, fields)
    return model


def interface_model(identifier: str, **fields: Any) -> dict[str, Any]:
    """models.Interface without its computed EnabledPeers, TotalPeers and Filename."""
    model: dict[str, Any] = {
        "Identifier": identifier,
        "DisplayName": "",
        "Mode": "server",
        "PrivateKey": "",
        "PublicKey": "",
        "Disabled": False,
        "DisabledReason": "",
        "SaveConfig": False,
        "ListenPort": 0,
        "Addresses": [],
        "Dns": [],
        "DnsSearch": [],
        "Mtu": 0,
        "FirewallMark": 0,
        "RoutingTable": "",
        "PreUp": "",
        "PostUp": "",
        "PreDown": "",
        "PostDown": "",
        "PeerDefNetwork": [],
        "PeerDefDns": [],
        "PeerDefDnsSearch": [],
        "PeerDefEndpoint": "",
        "PeerDefAllowedIPs": [],
        "PeerDefMtu": 0,
        "PeerDefPersistentKeepalive": 0,
        "PeerDefFirewallMark": 0,
        "PeerDefRoutingTable": "",
        "PeerDefPreUp": "",
        "PeerDefPostUp": "",
        "PeerDefPreDown": "",
        "PeerDefPostDown": "",
    }
    _update(model, fields)
    return model


def peer_model(identifier: str, interface: str, **fields: Any) -> dict[str, Any]:
    """models.Peer without its computed Filename; `ExpiresAt` ("YYYY-MM-DD") is omitempty."""
    model: dict[str, Any] = {
        "Identifier": identifier,
        "DisplayName": "",
        "UserIdentifier": "",
        "InterfaceIdentifier": interface,
        "Disabled": False,
        "DisabledReason": "",
        "ExpiresAt": fields.pop("ExpiresAt", ""),
        "Notes": "",
        "Endpoint": option(""),
        "EndpointPublicKey": option(""),
        "AllowedIPs": option([]),
        "ExtraAllowedIPs": [],
        "PresharedKey": "",
        "PersistentKeepalive": option(0),
        "PrivateKey": "",
        "PublicKey": identifier,
        "Mode": "client",
        "Addresses": [],
        "CheckAliveAddress": "",
        "Dns": option([]),
        "DnsSearch": option([]),
        "Mtu": option(0),
        "FirewallMark": option(0),
        "RoutingTable": option(""),
        "PreUp": option(""),
        "PostUp": option(""),
        "PreDown": option(""),
        "PostDown": option(""),
    }
    if not model["ExpiresAt"]:
        del model["ExpiresAt"]
    _update(model, fields)
    return model


def _update(model: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key not in model and key != "ExpiresAt":
            raise KeyError(f"wg-portal's model has no field {key}")
        model[key] = value


def _truncate(text: str, size: int) -> str:
    return text[:size]


def peer_file_name(peer: dict[str, Any]) -> str:
    """domain.Peer.GetConfigFileName."""
    if peer["DisplayName"]:
        name = peer["DisplayName"].replace(" ", "_").replace("Autodetected_", "")
        return _truncate(_FILE_UNSAFE.sub("", name), 16) + ".conf"
    return _FILE_UNSAFE.sub("", "wg_" + _truncate(peer["Identifier"], 8)) + ".conf"


def interface_file_name(interface: dict[str, Any]) -> str:
    """domain.Interface.GetConfigFileName."""
    return _truncate(_FILE_UNSAFE.sub("", interface["Identifier"]), 16) + ".conf"


@dataclass
class Fault:
    kind: str  # fail | hang | truncate | drop_last | delay | hold
    status: int = 500
    seconds: float = 0.0  # delay: answer normally after this long
    times: int | None = None  # None = until cleared


@dataclass
class FakePortal:
    """wg-portal's state (its models, by identifier) behind a real HTTP server."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    legacy_users: bool = False
    api_user: str = API_USER
    api_token: str = API_TOKEN
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Authorization)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: dict[str, Fault] = {}
        self._release = threading.Event()
        self.proceed = threading.Event()  # lets `hold` requests answer
        self._server: ThreadingHTTPServer | None = None

    # -- state -------------------------------------------------------------------------------

    def add_user(self, identifier: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            self.users[identifier] = user_model(identifier, **fields)
            return self.users[identifier]

    def add_interface(self, identifier: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            self.interfaces[identifier] = interface_model(identifier, **fields)
            return self.interfaces[identifier]

    def add_peer(self, identifier: str, interface: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            self.peers[identifier] = peer_model(identifier, interface, **fields)
            return self.peers[identifier]

    def change(self, kind: str, identifier: str, **fields: Any) -> None:
        with self.lock:
            _update(getattr(self, kind)[identifier], fields)

    def remove(self, kind: str, identifier: str) -> None:
        with self.lock:
            del getattr(self, kind)[identifier]

    # -- faults ------------------------------------------------------------------------------

    def fault(
        self,
        prefix: str,
        kind: str,
        status: int = 500,
        times: int | None = None,
        seconds: float = 0.0,
    ) -> None:
        """Make requests whose path starts with `/api/v1` + `prefix` misbehave."""
        with self.lock:
            self.faults["/api/v1" + prefix] = Fault(kind, status, times, seconds)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for prefix, fault in self.faults.items():
                if path.startswith(prefix):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self.faults[prefix]
                    return fault
        return None

    # -- the models as wg-portal's handlers list them -----------------------------------------

    def _peers_of(self, interface: str) -> list[dict[str, Any]]:
        return [p for p in self.peers.values() if p["InterfaceIdentifier"] == interface]

    def user_list(self) -> list[dict[str, Any]]:
        owned = Counter(p["UserIdentifier"] for p in self.peers.values())
        out = []
        for user in self.users.values():
            model = dict(user)
            if self.legacy_users:  # v2.0/v2.1: Source + omitempty ProviderName
                sources = model.pop("AuthSources")
                listed = list(model.items())
                listed.insert(2, ("Source", sources[0] if sources else "db"))
                model = dict(listed)
            model["PeerCount"] = owned[user["Identifier"]]
            out.append(model)
        return out

    def interface_list(self) -> list[dict[str, Any]]:
        out = []
        for interface in self.interfaces.values():
            peers = self._peers_of(interface["Identifier"])
            model = dict(interface)
            model["EnabledPeers"] = sum(1 for p in peers if not p["Disabled"])
            model["TotalPeers"] = len(peers)
            model["Filename"] = interface_file_name(interface)
            out.append(model)
        return out

    def peer_list(self, interface: str) -> list[dict[str, Any]]:
        return [{**p, "Filename": peer_file_name(p)} for p in self._peers_of(interface)]

    # -- the server ----------------------------------------------------------------------------

    def start(self) -> str:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                self._send(status, go_json({"Code": status, "Message": message}))

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                auth = self.headers.get("Authorization", "")
                with portal.lock:
                    portal.requests.append((path, auth))
                if not portal._authorized(auth):
                    message = "missing credentials" if not auth else "invalid credentials"
                    self._error(401, message)
                    return
                with portal.lock:
                    if path == "/api/v1/user/all":
                        listing: list[dict[str, Any]] | None = portal.user_list()
                    elif path == "/api/v1/interface/all":
                        listing = portal.interface_list()
                    elif path.startswith("/api/v1/peer/by-interface/"):
                        listing = portal.peer_list(unquote(path.rsplit("/", 1)[1]))
                    else:
                        listing = None
                if listing is None:
                    self._error(404, "not found")
                    return
                fault = portal._fault_for(path)
                if fault is not None and fault.kind in ("delay", "hold"):
                    if fault.kind == "hold":
                        portal.proceed.wait(60)
                    else:
                        portal._release.wait(fault.seconds)
                    fault = None
                if fault is None:
                    self._send(200, go_json(listing))
                elif fault.kind == "fail":
                    self._error(fault.status, "failed to load data")
                elif fault.kind == "hang":
                    portal._release.wait(60)
                    self.close_connection = True
                elif fault.kind == "truncate":
                    body = go_json(listing)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif fault.kind == "drop_last":
                    self._send(200, go_json(listing[:-1]))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def _authorized(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        with contextlib.suppress(ValueError):
            user, _, token = base64.b64decode(header[6:]).decode().partition(":")
            return user == self.api_user and token == self.api_token
        return False

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextlib.contextmanager
def running(portal: FakePortal) -> Iterator[FakePortal]:
    portal.start()
    try:
        yield portal
    finally:
        portal.stop()
