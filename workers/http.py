"""The send path of a webhook: one POST through urllib3, under a deadline and the SSRF rules.

Each thread keeps its own urllib3 PoolManager (keep-alive to each receiver), or a ProxyManager
per egress proxy. Proxy settings (HTTP(S)_PROXY, NO_PROXY) are read from the environment once
per process, as the operator's egress route (scanning the environment on every request costs
~20% of a POST's CPU). TLS is verified against the same CA bundle requests uses.

Every connection resolves its host itself, asks `workers.ssrf` about each address, and connects
only to an address it checked (no second lookup a rebinding DNS server could answer
differently). A refusal is an attempt error like `blocked: 169.254.169.254 is link-local`.
Through an egress proxy only an address literal in the URL is checked here: the proxy resolves
names itself. The whole request runs under `workers.deadline`.

This relies on urllib3's connection internals (`HTTPConnection._new_conn` connects to
`_dns_host`), so urllib3 is pinned in pyproject.toml.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import requests.utils
from urllib3 import PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse
from urllib3.util import Timeout, make_headers, parse_url
from urllib3.util.proxy import connection_requires_http_tunnel

from workers import deadline, ssrf

BODY_EXCERPT = 4096

_guard = threading.local()  # .block_private: the policy of this thread's request in flight


class BlockedAddress(NewConnectionError):
    """The host resolved only to addresses webhooks are never sent to."""

    def __init__(self, conn: HTTPConnection, reason: str) -> None:
        super().__init__(conn, f"blocked: {reason}")
        self.reason = f"blocked: {reason}"


class _GuardedConnection(HTTPConnection):
    """Resolves its host, refuses blocked addresses, connects to a checked one, and hands its
    socket to the deadline watchdog before waiting for the answer."""

    def _new_conn(self) -> socket.socket:
        # To an egress proxy the operator configured: that address is theirs to choose.
        proxied = getattr(self, "proxy", None) is not None
        block_private = bool(getattr(_guard, "block_private", True)) and not proxied
        host = self._dns_host
        try:
            found = socket.getaddrinfo(host.strip("[]"), self.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        allowed, refused = ssrf.allowed_addresses(
            (str(sockaddr[0]) for *_, sockaddr in found), block_private
        )
        if not allowed:
            raise BlockedAddress(self, refused or f"{host} has no address")
        last: NewConnectionError | None = None
        for literal in allowed:
            # urllib3 connects to `_dns_host`: point it at the checked address for the connect
            # only (the Host header and TLS's server name keep the name)
            self._dns_host = literal
            try:
                return super()._new_conn()
            except NewConnectionError as exc:
                last = exc
            finally:
                self._dns_host = host
        assert last is not None
        raise last

    def getresponse(self) -> Any:
        deadline.watch(self.sock)
        return super().getresponse()


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOL_CLASSES = {"http": _GuardedPool, "https": _GuardedHTTPSPool}


def _manager_options() -> dict[str, Any]:
    # 32 receivers per thread, 4 connections to each: what the requests adapter had
    return {
        "num_pools": 32,
        "maxsize": 4,
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": requests.utils.DEFAULT_CA_BUNDLE_PATH,
    }


_proxies: dict[str, str] | None = None


def environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY by scheme, read once per process."""
    global _proxies
    if _proxies is None:
        _proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    return _proxies


def _proxy_for(url: str) -> str | None:
    """The egress proxy for `url`, or None (no proxy for its scheme, or NO_PROXY covers it)."""
    proxy = environment_proxies().get(parse_url(url).scheme or "http")
    if proxy is None:
        return None
    no_proxy = urllib.request.getproxies().get("no", "")
    return None if requests.utils.should_bypass_proxies(url, no_proxy=no_proxy) else proxy


def _proxy_headers(proxy: str) -> dict[str, str]:
    """Basic auth for the proxy from the user info in its URL, as requests sends it."""
    auth = parse_url(proxy).auth
    if not auth:
        return {}
    user, _, password = auth.partition(":")
    unquoted = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    return make_headers(proxy_basic_auth=unquoted)


_managers = threading.local()  # .by_proxy: this thread's {proxy or None: manager}


def _manager(proxy: str | None) -> PoolManager:
    by_proxy: dict[str | None, PoolManager] | None = getattr(_managers, "by_proxy", None)
    if by_proxy is None:
        by_proxy = _managers.by_proxy = {}
    manager = by_proxy.get(proxy)
    if manager is None:
        if proxy is None:
            manager = PoolManager(**_manager_options())
        else:
            manager = ProxyManager(proxy, proxy_headers=_proxy_headers(proxy), **_manager_options())
        manager.pool_classes_by_scheme = _POOL_CLASSES
        by_proxy[proxy] = manager
    return manager


_pools = threading.local()  # .by_url: this thread's {url: (urllib3 pool, request target)}


def _pool(url: str) -> tuple[HTTPConnectionPool, str]:
    """This thread's pool for `url` and the request target to send: the absolute URL to an
    HTTP proxy that forwards it, else the path. Looked up once per thread and URL."""
    by_url: dict[str, tuple[HTTPConnectionPool, str]] | None = getattr(_pools, "by_url", None)
    if by_url is None:
        by_url = _pools.by_url = {}
    found = by_url.get(url)
    if found is None or found[0].pool is None:  # None: the manager evicted and closed it
        proxy = _proxy_for(url)
        manager = _manager(proxy)
        parsed = parse_url(url)
        forwarded = proxy is not None and not connection_requires_http_tunnel(
            parse_url(proxy), None, parsed.scheme
        )
        found = by_url[url] = (
            manager.connection_from_url(url),
            url if forwarded else parsed.request_uri,
        )
    return found


_timeouts: dict[float, Timeout] = {}


def _timeout(seconds: float) -> Timeout:
    found = _timeouts.get(seconds)
    if found is None:  # urllib3 clones it for each request; the cached one is never changed
        found = _timeouts[seconds] = Timeout(connect=min(seconds, 10.0), read=seconds)
    return found


@dataclass(frozen=True)
class Response:
    status_code: int | None
    headers: dict[str, str]
    body: str
    error: str | None
    duration_ms: float


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, *, block_private: bool
) -> Response:
    """POST and read at most BODY_EXCERPT bytes of the answer, all within `timeout` seconds.

    No retries, no redirects; `block_private` is `webhook.block_private_networks`.
    """
    blocked = ssrf.blocked_literal(url, block_private)
    if blocked is not None:
        return Response(None, {}, "", blocked, 0.0)
    sent_headers = {**headers, "Content-Length": str(len(body))}
    started = time.perf_counter()
    _guard.block_private = block_private
    with deadline.deadline(timeout):
        try:
            pool, target = _pool(url)
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers=sent_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                timeout=_timeout(timeout),
                chunked=False,
            )
            assert isinstance(response, HTTPResponse)
            excerpt = _excerpt(response)
            status: int | None = response.status
            error = None
            answer_headers = dict(response.headers)
        except (HTTPError, OSError) as exc:
            status, excerpt, answer_headers = None, "", {}
            error = describe_error(exc)
        if deadline.expired():
            # A cut-off answer can look complete to http.client (EOF ends the headers), so
            # anything the deadline interrupted is a failure; retrying is always safe.
            status, answer_headers = None, {}
            error = f"timeout: no complete answer within {timeout:g}s"
    return Response(status, answer_headers, excerpt, error, (time.perf_counter() - started) * 1000)


def _excerpt(response: HTTPResponse) -> str:
    """The first BODY_EXCERPT bytes of the answer, as text; the connection goes back to the
    pool only when the whole body was read (never drain a 50 MB body)."""
    try:
        raw = response.read(BODY_EXCERPT, decode_content=True) or b""
        return raw[:BODY_EXCERPT].decode("utf-8", errors="replace")
    except Exception as exc:  # the body is a courtesy; the status code is the answer
        return f"(body unreadable: {type(exc).__name__})"
    finally:
        if response.length_remaining or not response.isclosed():
            response.close()
        response.release_conn()


def describe_error(exc: Exception) -> str:
    """A short, secret-free description: the kind of failure, not the URL with its query."""
    if isinstance(exc, BlockedAddress):
        return exc.reason
    if isinstance(exc, NameResolutionError):
        return "host name does not resolve"
    # a refused connection is a NewConnectionError, which urllib3 derives from the timeout
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return "connect timeout"
    if isinstance(exc, ReadTimeoutError):
        return "read timeout"
    if isinstance(exc, NewConnectionError | ProtocolError | ProxyError | OSError):
        text = str(exc)
        for marker, label in (
            ("Connection refused", "connection refused"),
            ("Connection reset", "connection reset"),
            ("RemoteDisconnected", "connection closed without answer"),
            ("Name or service not known", "host name does not resolve"),
        ):
            if marker in text:
                return label
        return "connection error"
    return type(exc).__name__
