"""The send path of a webhook: POSTs on one event loop per worker process, through aiohttp.

Every POST of the process runs on one asyncio loop in a thread of its own (`io_loop`), so a
batch of a hundred POSTs costs a hundred coroutines, not a hundred threads handing the GIL
around: measured here 0.13 ms of CPU per POST against 0.60 ms through urllib3 in threads
(docs/performance.md). The guarantees are those of the urllib3 path it replaced:

- a deadline on the *whole* request (connecting, sending, waiting, reading the excerpt):
  `asyncio.timeout`, so a receiver trickling a byte a second cannot hold a POST open;
- the SSRF rules (`workers.ssrf`) at connect time: the connector resolves each host through
  `_GuardedResolver`, which asks the rules about every address and hands on only allowed ones,
  and connects to exactly those (no DNS cache, no second lookup a rebinding DNS server could
  answer differently). A refusal is an attempt error like `blocked: 169.254.169.254 is
  link-local`. Through an egress proxy (HTTP(S)_PROXY, NO_PROXY, read from the environment)
  only an address literal in the URL is checked here: the proxy resolves names itself;
- no redirects, no retries, no cookies kept between POSTs, the body sent as given with its
  Content-Length, at most BODY_EXCERPT bytes of the answer read (a longer answer's connection
  is closed, never drained); TLS verified against the CA bundle requests uses.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import requests.utils
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

from workers import ssrf

BODY_EXCERPT = 4096
CONNECT_SECONDS = 10.0  # a connect never waits longer than this, whatever the endpoint's timeout

T = TypeVar("T")


class _IoLoop:
    """The process's event loop for POSTs, in a daemon thread; a new one after a fork."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()
        # what else lives on the loop and is closed with it (the workers' claim connections)
        self.closing: list[Callable[[], Awaitable[None]]] = []

    def get(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._pid != os.getpid():
            with self._lock:
                if self._loop is None or self._pid != os.getpid():
                    loop = asyncio.new_event_loop()
                    threading.Thread(
                        target=loop.run_forever, name="webhook-io", daemon=True
                    ).start()
                    self._loop, self._pid = loop, os.getpid()
                    _sessions.clear()
        return self._loop

    def close(self) -> None:
        """Close the sessions (their keep-alive connections) and stop the loop; at exit."""
        loop = self._loop
        if loop is None or self._pid != os.getpid() or not loop.is_running():
            return

        async def close_sessions() -> None:
            for session in list(_sessions.values()):
                await session.close()
            _sessions.clear()
            for close in self.closing:
                await close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_sessions(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        self._loop = None

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` on the loop and wait for it (from any thread but the loop's)."""

        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.get()).result()


io_loop = _IoLoop()
atexit.register(io_loop.close)


class BlockedAddress(OSError):
    """The host resolved only to addresses webhooks are never sent to."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"blocked: {reason}")
        self.reason = f"blocked: {reason}"


class _GuardedResolver(AbstractResolver):
    """Resolves a host (every address family) and hands on only the addresses the SSRF rules
    allow, in the order found; none allowed is a `BlockedAddress`."""

    def __init__(self, block_private: bool) -> None:
        self.block_private = block_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        # looked up at call time: the SSRF tests answer names with a stub getaddrinfo
        found = await loop.run_in_executor(
            None, socket.getaddrinfo, host.strip("[]"), port, 0, socket.SOCK_STREAM
        )
        by_literal = {str(sockaddr[0]): (fam, proto) for fam, _, proto, _, sockaddr in found}
        allowed, refused = ssrf.allowed_addresses(
            (str(sockaddr[0]) for *_, sockaddr in found), self.block_private
        )
        if not allowed:
            raise BlockedAddress(refused or f"{host} has no address")
        return [
            ResolveResult(
                hostname=host,
                host=literal,
                port=port,
                family=by_literal[literal][0],
                proto=by_literal[literal][1],
                flags=socket.AI_NUMERICHOST,
            )
            for literal in allowed
        ]

    async def close(self) -> None:
        return None


_ssl_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)
    return _ssl_context


# this process's sessions, by whether their connections are SSRF-guarded for private ranges
_sessions: dict[bool, aiohttp.ClientSession] = {}


def _session(block_private: bool) -> aiohttp.ClientSession:
    """The loop's session for this policy (created on the loop, on first use)."""
    session = _sessions.get(block_private)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(
            limit=0,  # the relay's leases bound what is in flight, per endpoint
            use_dns_cache=False,  # every new connection resolves and is checked again
            resolver=_GuardedResolver(block_private),
            ssl=_tls(),
            keepalive_timeout=30.0,
        )
        session = _sessions[block_private] = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # a receiver's cookies go nowhere
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding"),
            trust_env=False,  # proxies: `_proxy_for`, read once per process
            timeout=aiohttp.ClientTimeout(total=None),
        )
    return session


_proxies: dict[str, str] | None = None


def environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY by scheme, read once per process (scanning the environment on every
    request costs more than the POST)."""
    global _proxies
    if _proxies is None:
        _proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    return _proxies


def _proxy_for(url: str) -> str | None:
    """The egress proxy for `url`, or None (no proxy for its scheme, or NO_PROXY covers it)."""
    proxy = environment_proxies().get(urllib.parse.urlsplit(url).scheme or "http")
    if proxy is None:
        return None
    no_proxy = urllib.request.getproxies().get("no", "")
    return None if requests.utils.should_bypass_proxies(url, no_proxy=no_proxy) else proxy


def _proxy_options(proxy: str | None) -> dict[str, Any]:
    """The proxy and its basic auth (from the user info in its URL, as requests sends it)."""
    if proxy is None:
        return {}
    parsed = URL(proxy)
    if parsed.user is None:
        return {"proxy": parsed}
    auth = aiohttp.BasicAuth(parsed.user, parsed.password or "")
    return {"proxy": parsed.with_user(None), "proxy_auth": auth}


_urls: dict[str, URL] = {}
_timeouts: dict[float, aiohttp.ClientTimeout] = {}


def _url(url: str) -> URL:
    """The URL as given (no re-quoting), parsed once per process."""
    found = _urls.get(url)
    if found is None:
        if len(_urls) > 1024:  # endpoints change rarely; a bound all the same
            _urls.clear()
        found = _urls[url] = URL(url, encoded=True)
    return found


def _target(url: str, headers: Mapping[str, str]) -> URL:
    """Where to POST: user info in the URL is sent as basic auth, unless the endpoint has an
    `authentication` header of its own, which wins."""
    parsed = _url(url)
    if parsed.user is not None and any(k.lower() == "authorization" for k in headers):
        return parsed.with_user(None)
    return parsed


def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The connect's own limit; the whole request is bounded by `asyncio.timeout`."""
    found = _timeouts.get(seconds)
    if found is None:
        found = _timeouts[seconds] = aiohttp.ClientTimeout(
            total=None, sock_connect=min(seconds, CONNECT_SECONDS)
        )
    return found


@dataclass(frozen=True)
class Response:
    status_code: int | None
    headers: Mapping[str, str]  # case-insensitive
    body: str
    error: str | None
    duration_ms: float


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, *, block_private: bool
) -> Response:
    """`post_async` from a thread that is not the loop's (waits for the answer)."""
    return io_loop.run(post_async(url, body, headers, timeout, block_private=block_private))


async def post_async(
    url: str, body: bytes, headers: dict[str, str], timeout: float, *, block_private: bool
) -> Response:
    """POST and read at most BODY_EXCERPT bytes of the answer, all within `timeout` seconds.

    No retries, no redirects; `block_private` is `webhook.block_private_networks`. Runs on the
    process's loop (`io_loop`)."""
    blocked = ssrf.blocked_literal(url, block_private)
    if blocked is not None:
        return Response(None, {}, "", blocked, 0.0)
    proxy = _proxy_for(url)
    # to an egress proxy the operator configured: that address is theirs to choose
    session = _session(block_private and proxy is None)
    sent_headers = {"Accept-Encoding": "identity", **headers}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with session.post(
                _target(url, headers),
                data=body,
                headers=sent_headers,
                allow_redirects=False,
                timeout=_timeout(timeout),
                **_proxy_options(proxy),
            ) as response:
                excerpt = await _excerpt(response)
                status: int | None = response.status
                answer: Mapping[str, str] = CIMultiDict(response.headers)
                error = None
    except aiohttp.ServerTimeoutError as exc:  # a TimeoutError too: the connect's own limit
        status, excerpt, answer, error = None, "", {}, describe_error(exc)
    except TimeoutError:  # before OSError, which it is: the deadline interrupted the request
        status, excerpt, answer = None, "", {}
        error = f"timeout: no complete answer within {timeout:g}s"
    except (aiohttp.ClientError, OSError) as exc:
        status, excerpt, answer, error = None, "", {}, describe_error(exc)
    except Exception as exc:  # anything else is this attempt's failure, never the task's
        status, excerpt, answer, error = None, "", {}, f"request failed: {type(exc).__name__}"
    return Response(status, answer, excerpt, error, (time.perf_counter() - started) * 1000)


async def _excerpt(response: aiohttp.ClientResponse) -> str:
    """The first BODY_EXCERPT bytes of the answer, as text; the connection goes back to the
    pool only when the whole body was read (never drain a 50 MB body)."""
    raw = bytearray()
    try:
        while len(raw) < BODY_EXCERPT:
            piece = await response.content.read(BODY_EXCERPT - len(raw))
            if not piece:
                break
            raw += piece
        return bytes(raw).decode("utf-8", errors="replace")
    except (aiohttp.ClientError, OSError) as exc:  # the body is a courtesy; the status answers
        return f"(body unreadable: {type(exc).__name__})"
    finally:
        if response.content.at_eof():
            response.release()
        else:
            response.close()


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description: the kind of failure, not the URL with its query."""
    cause = getattr(exc, "os_error", None) or exc.__cause__ or exc
    if isinstance(cause, BlockedAddress):
        return cause.reason
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(cause, socket.gaierror):
        return "host name does not resolve"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "connect timeout"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return "read timeout"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed without answer"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, ConnectionResetError) or isinstance(
        exc, aiohttp.ClientConnectionResetError
    ):
        return "connection reset"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "malformed answer"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "connection error"
    return type(exc).__name__
