"""A client of a running wg-portal's REST API v1: the state reconcile compares with.

`fetch_snapshot` reads `GET /api/v1/user/all`, `/interface/all` and `/peer/by-interface/{id}`
(HTTP Basic auth: `portal.api_user` / `portal.api_token`) and returns every entity as wg-portal's
JSON model, or raises `PortalError`. It never returns part of wg-portal's state: a request that
fails, times out, is cut short or answers something that is not the list wg-portal's Go models
marshal (a missing key, a wrong type, a duplicate, fewer peers than the interface's
`TotalPeers`) fails the whole snapshot, so a round never mistakes a failed fetch for deletions.

The URL is the operator's own (`portal.url`), so the webhook SSRF rules do not apply; the
credentials never appear in a log line or an error message (errors name the path only).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from services.config import Portal

# Seconds to connect, and to wait for each read of an answer. A wg-portal that is slower than
# this for one list is treated as down: the round fails and the next one tries again.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
USER_AGENT = "wg-webhooks-reconcile"


class PortalError(Exception):
    """wg-portal's state could not be read completely; the message names the request only."""


@dataclass(frozen=True)
class Snapshot:
    """wg-portal's whole state at one time, by identifier (each value is wg-portal's model)."""

    users: dict[str, dict[str, Any]]
    interfaces: dict[str, dict[str, Any]]
    peers: dict[str, dict[str, Any]]


# ---------------------------------------------------------------------------------------------
# The shapes of wg-portal's models (internal/app/api/v1/models): every key Go always marshals.
# ---------------------------------------------------------------------------------------------

Check = Callable[[Any], bool]


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _option(check: Check) -> Check:
    """ConfigOption[T]: `{"Value": T, "Overridable": bool}` (Overridable is omitempty)."""

    def valid(value: Any) -> bool:
        return (
            isinstance(value, dict)
            and "Value" in value
            and check(value["Value"])
            and _bool(value.get("Overridable", False))
            and set(value) <= {"Value", "Overridable"}
        )

    return valid


USER: Mapping[str, Check] = {
    "Identifier": _str,
    "Email": _str,
    "IsAdmin": _bool,
    "Firstname": _str,
    "Lastname": _str,
    "Phone": _str,
    "Department": _str,
    "Notes": _str,
    "Disabled": _bool,
    "DisabledReason": _str,
    "Locked": _bool,
    "LockedReason": _str,
}
INTERFACE: Mapping[str, Check] = {
    "Identifier": _str,
    "DisplayName": _str,
    "Mode": _str,
    "PrivateKey": _str,
    "PublicKey": _str,
    "Disabled": _bool,
    "DisabledReason": _str,
    "SaveConfig": _bool,
    "ListenPort": _int,
    "Addresses": _strings,
    "Dns": _strings,
    "DnsSearch": _strings,
    "Mtu": _int,
    "FirewallMark": _int,
    "RoutingTable": _str,
    "PreUp": _str,
    "PostUp": _str,
    "PreDown": _str,
    "PostDown": _str,
    "PeerDefNetwork": _strings,
    "PeerDefDns": _strings,
    "PeerDefDnsSearch": _strings,
    "PeerDefEndpoint": _str,
    "PeerDefAllowedIPs": _strings,
    "PeerDefMtu": _int,
    "PeerDefPersistentKeepalive": _int,
    "PeerDefFirewallMark": _int,
    "PeerDefRoutingTable": _str,
    "PeerDefPreUp": _str,
    "PeerDefPostUp": _str,
    "PeerDefPreDown": _str,
    "PeerDefPostDown": _str,
    "EnabledPeers": _int,
    "TotalPeers": _int,
}
PEER: Mapping[str, Check] = {
    "Identifier": _str,
    "DisplayName": _str,
    "UserIdentifier": _str,
    "InterfaceIdentifier": _str,
    "Disabled": _bool,
    "DisabledReason": _str,
    "Notes": _str,
    "Endpoint": _option(_str),
    "EndpointPublicKey": _option(_str),
    "AllowedIPs": _option(_strings),
    "ExtraAllowedIPs": _strings,
    "PresharedKey": _str,
    "PersistentKeepalive": _option(_int),
    "PrivateKey": _str,
    "PublicKey": _str,
    "Mode": _str,
    "Addresses": _strings,
    "CheckAliveAddress": _str,
    "Dns": _option(_strings),
    "DnsSearch": _option(_strings),
    "Mtu": _option(_int),
    "FirewallMark": _option(_int),
    "RoutingTable": _option(_str),
    "PreUp": _option(_str),
    "PostUp": _option(_str),
    "PreDown": _option(_str),
    "PostDown": _option(_str),
}


def _user_sources(item: dict[str, Any]) -> bool:
    """v2.2+ has `AuthSources` (a list of source names); v2.0 and v2.1 `Source` (+ the
    omitempty `ProviderName`)."""
    if "AuthSources" in item:
        return _strings(item["AuthSources"])
    return _str(item.get("Source")) and _str(item.get("ProviderName", ""))


def _expiry(item: dict[str, Any]) -> bool:
    """`ExpiresAt` is omitempty, else a YYYY-MM-DD date."""
    value = item.get("ExpiresAt", "")
    return _str(value) and (value == "" or (len(value) == 10 and value[4] == value[7] == "-"))


def _check_items(
    where: str, body: Any, shape: Mapping[str, Check], extra: Callable[[dict[str, Any]], bool]
) -> dict[str, dict[str, Any]]:
    if not isinstance(body, list):
        raise PortalError(f"{where}: the answer is not a JSON list")
    items: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise PortalError(f"{where}: item {index} is not an object")
        for key, check in shape.items():
            if key not in item:
                raise PortalError(f"{where}: item {index} has no {key}")
            if not check(item[key]):
                raise PortalError(f"{where}: item {index}: {key} has the wrong type")
        if not extra(item):
            raise PortalError(f"{where}: item {index} is not a wg-portal model")
        identifier = item["Identifier"]
        if not identifier:
            raise PortalError(f"{where}: item {index} has an empty Identifier")
        if identifier in items:
            raise PortalError(f"{where}: {identifier} is listed twice")
        items[identifier] = item
    return items


class PortalClient:
    """One wg-portal's REST API v1; `fetch_snapshot` is all reconcile needs."""

    def __init__(
        self,
        portal: Portal,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self._base = portal.url.rstrip("/") + "/api/v1"
        self._timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        self._session.auth = (portal.api_user, portal.api_token)
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})

    def __repr__(self) -> str:
        return f"PortalClient({self._base!r})"

    def close(self) -> None:
        self._session.close()

    def _get(self, path: str) -> Any:
        where = f"GET /api/v1{path}"
        try:
            answer = self._session.get(
                self._base + path, timeout=self._timeout, allow_redirects=False
            )
            body = answer.content  # reads it all: a cut-short answer raises here
        except requests.Timeout:
            raise PortalError(f"{where}: no answer within {self._timeout[1]:g}s") from None
        except requests.RequestException as exc:
            raise PortalError(f"{where}: {_reason(exc)}") from None
        if answer.status_code != 200:
            raise PortalError(f"{where}: HTTP {answer.status_code}{_message(body)}")
        try:
            return json.loads(body)
        except ValueError:
            raise PortalError(f"{where}: the answer is not complete JSON") from None

    def users(self) -> dict[str, dict[str, Any]]:
        return _check_items("GET /api/v1/user/all", self._get("/user/all"), USER, _user_sources)

    def interfaces(self) -> dict[str, dict[str, Any]]:
        body = self._get("/interface/all")
        return _check_items("GET /api/v1/interface/all", body, INTERFACE, lambda _: True)

    def peers_of(self, interface: dict[str, Any]) -> dict[str, dict[str, Any]]:
        identifier = interface["Identifier"]
        path = f"/peer/by-interface/{quote(identifier, safe='')}"
        where = f"GET /api/v1{path}"
        peers = _check_items(where, self._get(path), PEER, _expiry)
        for peer in peers.values():
            if peer["InterfaceIdentifier"] != identifier:
                raise PortalError(f"{where}: {peer['Identifier']} belongs to another interface")
        # A list shorter than the count wg-portal just gave is partial: a peer missing from it
        # must not look deleted. (A peer created since then only makes the list longer.)
        if len(peers) < interface["TotalPeers"]:
            raise PortalError(
                f"{where}: {len(peers)} peers, but interface/all counted "
                f"{interface['TotalPeers']}: the list is partial"
            )
        return peers

    def fetch_snapshot(self) -> Snapshot:
        """wg-portal's whole state, or PortalError: never a part of it."""
        users = self.users()
        interfaces = self.interfaces()
        peers: dict[str, dict[str, Any]] = {}
        for interface in interfaces.values():
            for identifier, peer in self.peers_of(interface).items():
                if identifier in peers:
                    raise PortalError(f"peer {identifier} is listed under two interfaces")
                peers[identifier] = peer
        return Snapshot(users=users, interfaces=interfaces, peers=peers)


def _reason(exc: requests.RequestException) -> str:
    """What went wrong, without the URL (that stays in the config) or anything else."""
    if isinstance(exc, requests.ConnectionError) and "Connection refused" in str(exc):
        return "connection refused"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError):
        return f"the connection failed or the answer was cut short ({type(exc).__name__})"
    return type(exc).__name__


def _message(body: bytes) -> str:
    """wg-portal's error `Message` (its `{"Code","Message"}` body), shortened; else nothing."""
    try:
        message = json.loads(body).get("Message")
    except (ValueError, AttributeError):
        return ""
    return f" ({str(message)[:200]})" if message else ""
