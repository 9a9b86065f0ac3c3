"""What a lost broker connection needs, applied by `apply()` in every process that talks to
Redis through Celery (the app module calls it before it builds the app).

- kombu 5.7's Redis channel looks up its connection's settings through the transport's client,
  which is None once a lost connection was closed. Giving back reserved messages or acking one
  at that moment then fails with `AttributeError: 'NoneType' object has no attribute
  'hostname'`, which kombu does not treat as a connection error: Celery logs "Unrecoverable
  error" and the worker exits (seen in `make faults` on a Redis restart). Raised as the
  connection error it is, kombu handles it as such: the messages stay where they are (their
  leases decide) and the consumer reconnects.
- Celery logs a failed ack at CRITICAL with a traceback. With the broker gone at that moment it
  is expected and harmless (a message redelivered later finds its lease token spent and does
  nothing): one warning line, no stack.
"""

from __future__ import annotations

import logging
from typing import Any


class AckLostToBrokerOutage(logging.Filter):
    """Celery's "Couldn't ack" record, as one warning line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Couldn't ack"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg += " (broker unavailable; the delivery lease in Postgres decides)"
            record.exc_info, record.exc_text = None, None
        return True


_ack_filter = AckLostToBrokerOutage()


def apply() -> None:
    """Both fixes; applying them again changes nothing."""
    logging.getLogger("celery.worker.request").addFilter(_ack_filter)  # a set: added once
    _closed_transport_is_a_connection_error()


def _closed_transport_is_a_connection_error() -> None:
    import redis.exceptions
    from kombu.transport import redis as kombu_redis

    original = kombu_redis.Channel._connparams
    if getattr(original, "_wg_webhooks", False):
        return

    def connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed")
        return original(self, asynchronous)  # type: ignore[no-untyped-call]

    connparams._wg_webhooks = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = connparams  # type: ignore[method-assign]
