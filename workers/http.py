"""HTTP for webhooks: one requests.Session per thread, and a deadline on the *whole* request.

`requests`' timeout is per socket operation: a receiver that trickles one byte a second never
trips it. Each request here runs under a watchdog that shuts the socket down when the total
timeout passes, wherever the request is (waiting for headers or reading the body).
Proxy settings are read from the environment once, at start, and given to each session
explicitly with `trust_env` off (scanning the environment costs ~20% of a POST's CPU).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

BODY_EXCERPT = 4096

_current = threading.local()  # .sock: the socket of this thread's request in flight


def _register(sock: socket.socket | None) -> None:
    _current.sock = sock
    deadline_hit = getattr(_current, "expired", False)
    if deadline_hit and sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self) -> Any:
        _register(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
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


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Shut the current request's socket down if it is still running after `seconds`."""
    _current.expired = False
    _current.sock = None

    def expire() -> None:
        _current_expired(state)

    state = _current.__dict__  # the timer thread must touch *this* thread's slot
    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        _current.sock = None


def _current_expired(state: dict[str, Any]) -> None:
    state["expired"] = True
    sock = state.get("sock")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def deadline_expired() -> bool:
    return bool(getattr(_current, "expired", False))


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


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST and read at most BODY_EXCERPT bytes of the answer, all within `timeout` seconds."""
    started = time.perf_counter()
    with deadline(timeout):
        try:
            response = session().post(
                url,
                data=body,
                headers=headers,
                timeout=(min(timeout, 10.0), timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = response.raw.read(BODY_EXCERPT, decode_content=True) or b""
                excerpt = raw[:BODY_EXCERPT].decode("utf-8", errors="replace")
            except Exception as exc:  # the body is a courtesy; the status code is the answer
                excerpt = f"(body unreadable: {type(exc).__name__})"
            finally:
                # Only 4 KiB was read: drop the connection rather than drain a 50 MB body.
                if response.raw.length_remaining or not response.raw.isclosed():
                    response.raw.close()
                response.close()
            status: int | None = response.status_code
            error = None
            answer_headers = dict(response.headers)
        except requests.RequestException as exc:
            status, excerpt, answer_headers = None, "", {}
            error = describe_error(exc)
        if deadline_expired():
            # A cut-off answer can look complete to http.client (EOF ends the headers), so
            # anything the deadline interrupted is a failure; retrying is always safe.
            status, answer_headers = None, {}
            error = f"timeout: no complete answer within {timeout:g}s"
    return Response(status, answer_headers, excerpt, error, (time.perf_counter() - started) * 1000)


def describe_error(exc: requests.RequestException) -> str:
    """A short, secret-free description: the kind of failure, not the URL with its query."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        for marker, label in (
            ("Connection refused", "connection refused"),
            ("Connection reset", "connection reset"),
            ("RemoteDisconnected", "connection closed without answer"),
            ("NameResolution", "host name does not resolve"),
            ("Name or service not known", "host name does not resolve"),
        ):
            if marker in text:
                return label
        return "connection error"
    return type(exc).__name__
