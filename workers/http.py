"""HTTP for webhooks: one requests.Session per thread, and a deadline on the *whole* request.

`requests`' timeout is per socket operation: a receiver that trickles one byte a second never
trips it. Each request here runs under a watchdog that shuts the socket down when the total
timeout passes, wherever the request is (waiting for headers or reading the body).
Proxy settings are read from the environment once, at start, and given to each session
explicitly with `trust_env` off (scanning the environment costs ~20% of a POST's CPU).

SSRF guard: every connection resolves its host itself, checks each address, and connects only
to an address it checked (no second lookup a rebinding DNS server could answer differently).
Link-local and cloud metadata addresses are never connected to; with
`webhook.block_private_networks` neither are loopback, private or other non-global ones. A
refusal is an attempt error like `blocked: 169.254.169.254 is link-local`. Through an egress
proxy only an address literal in the URL is checked here: the proxy resolves names itself.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
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
from urllib3.util import Timeout

from services.address_policy import refusal, url_refusal
from workers.runtime import settings_from_environment

BODY_EXCERPT = 4096

_current = threading.local()  # .state: this thread's request in flight (deadline, socket)


def _register(sock: socket.socket | None) -> None:
    state = getattr(_current, "state", None)
    if state is None:
        return
    state["sock"] = sock
    if state["expired"] and sock is not None:  # the deadline passed before we got here
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------------------------------------
# SSRF guard
# ---------------------------------------------------------------------------------------------

_block_private: bool | None = None


def configure(block_private_networks: bool) -> None:
    """Set the policy (else read once from this process's config on first use)."""
    global _block_private
    _block_private = block_private_networks


def block_private_networks() -> bool:
    global _block_private
    if _block_private is None:
        _block_private = settings_from_environment().webhook.block_private_networks
    return _block_private


class BlockedAddress(NewConnectionError):
    """The host resolved only to addresses webhooks are never sent to."""

    def __init__(self, conn: HTTPConnection, reason: str) -> None:
        super().__init__(conn, f"blocked: {reason}")
        self.reason = f"blocked: {reason}"


class _GuardedConnection(HTTPConnection):
    """Resolves its host, refuses blocked addresses, connects to a checked one."""

    def _new_conn(self) -> socket.socket:
        # To an egress proxy the operator configured: that address is theirs to choose.
        proxied = getattr(self, "proxy", None) is not None
        block_private = block_private_networks() and not proxied
        host = self._dns_host
        try:
            found = socket.getaddrinfo(host.strip("[]"), self.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        allowed: list[str] = []
        refused: str | None = None
        for *_, sockaddr in found:
            literal = str(sockaddr[0])
            why = refusal(ipaddress.ip_address(literal.split("%")[0]), block_private)
            if why is None:
                allowed.append(literal)
            else:
                refused = refused or why
        if not allowed:
            raise BlockedAddress(self, refused or f"{host} has no address")
        last: NewConnectionError | None = None
        for literal in dict.fromkeys(allowed):
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


def blocked_literal(url: str) -> str | None:
    """The refusal for an address literal in `url` (checked before any proxy is involved)."""
    why = url_refusal(url, block_private_networks())
    return f"blocked: {why}" if why else None


class _WatchedHTTPConnection(_GuardedConnection):
    def getresponse(self) -> Any:
        _register(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    def getresponse(self) -> Any:
        _register(self.sock)
        return super().getresponse()


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}
        return manager


class _Watchdog:
    """One thread per process that expires request deadlines (a timer thread per request
    would cost more than the POST itself)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._counter = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, seconds: float, state: dict[str, Any]) -> None:
        with self._cond:
            if self._thread is None or self._pid != os.getpid():  # first use, or after a fork
                self._heap.clear()
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._pid = os.getpid()
                self._thread.start()
            self._counter += 1
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._counter, state))
            if self._heap[0][2] is state:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, state = heapq.heappop(self._heap)
                    if state.get("armed"):
                        _expire(state)
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)


_watchdog = _Watchdog()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Shut the current request's socket down if it is still running after `seconds`."""
    state: dict[str, Any] = {"armed": True, "expired": False, "sock": None}
    _current.state = state
    _watchdog.arm(seconds, state)
    try:
        yield
    finally:
        state["armed"] = False
        state["sock"] = None


def _expire(state: dict[str, Any]) -> None:
    state["expired"] = True
    sock = state.get("sock")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def deadline_expired() -> bool:
    state = getattr(_current, "state", None)
    return bool(state and state["expired"])


_proxies: dict[str, str] | None = None


def environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY / NO_PROXY, read once per process."""
    global _proxies
    if _proxies is None:
        _proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    return _proxies


_sessions = threading.local()


def session() -> requests.Session:
    """This thread's session (sessions are not thread-safe); keep-alive to each receiver."""
    current: requests.Session | None = getattr(_sessions, "session", None)
    if current is None:
        current = requests.Session()
        current.trust_env = False
        current.proxies.update(environment_proxies())
        adapter = _WatchedAdapter(pool_connections=32, pool_maxsize=4, max_retries=0)
        current.mount("http://", adapter)
        current.mount("https://", adapter)
        _sessions.session = current
    return current


@dataclass(frozen=True)
class Response:
    status_code: int | None
    headers: dict[str, str]
    body: str
    error: str | None
    duration_ms: float


_templates: dict[str, tuple[requests.PreparedRequest, dict[str, str]]] = {}
_templates_lock = threading.Lock()


def _template(url: str) -> tuple[requests.PreparedRequest, dict[str, str]]:
    """The request for `url`, prepared once per process (parsing and checking a URL costs
    ~0.2 ms, a third of a POST), and the proxies that apply to it."""
    found = _templates.get(url)
    if found is None:
        prepared = requests.PreparedRequest()
        prepared.prepare(method="POST", url=url, headers={}, data=b"")
        no_proxy = urllib.request.getproxies().get("no", "")
        proxies = (
            {}
            if requests.utils.should_bypass_proxies(url, no_proxy=no_proxy)
            else environment_proxies()
        )
        found = (prepared, proxies)
        with _templates_lock:
            _templates[url] = found
    return found


_pools = threading.local()  # .by_url: this thread's {url: (urllib3 pool, request target)}
_timeouts: dict[float, Timeout] = {}


def _pool(url: str) -> tuple[HTTPConnectionPool, str]:
    """The urllib3 pool this thread's session adapter keeps for `url`, with the proxy, TLS and
    certificate settings the adapter gives it, and the request target to send (the absolute
    URL through an HTTP proxy, else the path). Looked up once per thread and URL."""
    by_url: dict[str, tuple[HTTPConnectionPool, str]] | None = getattr(_pools, "by_url", None)
    if by_url is None:
        by_url = _pools.by_url = {}
    found = by_url.get(url)
    if found is None or found[0].pool is None:  # None: the manager evicted and closed it
        template, proxies = _template(url)
        adapter = session().get_adapter(url)
        assert isinstance(adapter, HTTPAdapter)
        pool = adapter.get_connection_with_tls_context(template, True, proxies)
        assert isinstance(pool, HTTPConnectionPool)
        # what send() does before every request: CA bundle on the pool (the stub is untyped)
        adapter.cert_verify(pool, url, True, None)  # type: ignore[no-untyped-call]
        found = by_url[url] = (pool, adapter.request_url(template, proxies))
    return found


def _timeout(seconds: float) -> Timeout:
    found = _timeouts.get(seconds)
    if found is None:  # urllib3 clones it for each request; the cached one is never changed
        found = _timeouts[seconds] = Timeout(connect=min(seconds, 10.0), read=seconds)
    return found


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST and read at most BODY_EXCERPT bytes of the answer, all within `timeout` seconds.

    Sent straight through the urllib3 pool that this thread's session adapter keeps for the
    URL (what `HTTPAdapter.send` would do, with the same pool, proxy and TLS settings, no
    retries, no redirects): the Session's and the adapter's per-request work (merging
    settings, cookies, hooks, re-checking certificate paths, building a Response) is nothing
    a webhook needs, and skipping it cuts the CPU of a POST by a quarter to a third.
    """
    blocked = blocked_literal(url)
    if blocked is not None:
        return Response(None, {}, "", blocked, 0.0)
    sent_headers = {**headers, "Content-Length": str(len(body))}
    started = time.perf_counter()
    with deadline(timeout):
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
            try:
                raw = response.read(BODY_EXCERPT, decode_content=True) or b""
                excerpt = raw[:BODY_EXCERPT].decode("utf-8", errors="replace")
            except Exception as exc:  # the body is a courtesy; the status code is the answer
                excerpt = f"(body unreadable: {type(exc).__name__})"
            finally:
                # Only 4 KiB was read: drop the connection rather than drain a 50 MB body.
                if response.length_remaining or not response.isclosed():
                    response.close()
                response.release_conn()
            status: int | None = response.status
            error = None
            answer_headers = dict(response.headers)
        except (HTTPError, OSError, requests.RequestException) as exc:
            status, excerpt, answer_headers = None, "", {}
            error = describe_error(exc)
        if deadline_expired():
            # A cut-off answer can look complete to http.client (EOF ends the headers), so
            # anything the deadline interrupted is a failure; retrying is always safe.
            status, answer_headers = None, {}
            error = f"timeout: no complete answer within {timeout:g}s"
    return Response(status, answer_headers, excerpt, error, (time.perf_counter() - started) * 1000)


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
