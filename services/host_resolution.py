"""The start-up check that every webhook host name resolves (a bad config stops start-up).

A name that does not exist (a typo, a `.invalid` name, a placeholder) stops start-up naming its
key. A resolver that cannot be reached (EAI_AGAIN: an offline start) or does not answer in time is
only logged: the workers resolve again at every connection, and a DNS outage must not keep the
service from starting.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from services.config_values import ConfigError

RESOLVE_TIMEOUT = 5.0  # seconds for all of a config's host lookups together

log = logging.getLogger(__name__)


def check_hosts_resolve(urls: Sequence[tuple[str, str]], timeout: float = RESOLVE_TIMEOUT) -> None:
    """Every (key, URL)'s host name resolves now (one query to the system resolver each).

    Names under `.invalid` are refused without a query (RFC 6761 §6.4: they never resolve).
    """
    lookups: dict[str, str] = {}  # host -> the first key naming it
    for key, url in urls:
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host)
            continue  # an address needs no lookup
        except ValueError:
            pass
        if host == "invalid" or host.endswith(".invalid"):
            raise ConfigError(key, f"host {host!r} does not resolve (a .invalid name)")
        lookups.setdefault(host, key)
    if not lookups:
        return
    # The lookups run in daemon threads: a resolver that never answers cannot hang start-up.
    results: dict[str, BaseException | None] = {}
    threads = [
        threading.Thread(target=_lookup, args=(host, results), daemon=True, name=f"resolve {host}")
        for host in lookups
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for host, key in lookups.items():
        if host not in results:
            log.warning(
                "%s: no answer resolving %s within %gs; starting anyway", key, host, timeout
            )
            continue
        error = results[host]
        if error is None:
            continue
        if isinstance(error, socket.gaierror):
            if error.errno == socket.EAI_AGAIN:
                log.warning("%s: cannot resolve %s now (%s); starting anyway", key, host, error)
                continue
            raise ConfigError(key, f"host {host!r} does not resolve ({error.strerror})")
        if isinstance(error, UnicodeError):
            raise ConfigError(key, f"host {host!r} is not a valid host name")
        raise ConfigError(key, f"host {host!r} cannot be resolved ({error})")


def _lookup(host: str, results: dict[str, BaseException | None]) -> None:
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        results[host] = exc
    else:
        results[host] = None
