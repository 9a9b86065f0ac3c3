"""A Redis connection lost while a worker holds reserved messages (kombu 5.7 on real Redis).

When a lost connection is closed, kombu sets its transport's client to None and then gives the
channel's reserved messages back to Redis and acks through that transport; unpatched, both
raise `AttributeError: 'NoneType' object has no attribute 'hostname'`, which Celery logs as
"Unrecoverable error" before the worker exits. workers.app turns it into the connection error
it is, which kombu and Celery already handle (the leases decide what is sent again).
"""

from __future__ import annotations

import kombu
import pytest

import workers.app  # noqa: F401  (applies the fix, as every worker and relay process does)
from services.embedded import broker_url


def test_closing_a_channel_whose_transport_is_gone_is_a_connection_error(redis_url: str) -> None:
    with kombu.Connection(broker_url(redis_url)) as conn:
        queue = conn.SimpleQueue("wgw-test-broker-loss")
        queue.put({"delivery_ids": [1], "lease_token": "t"})
        queue.get(timeout=5)  # reserved by this channel, not acknowledged
        conn.transport.client = None  # what kombu's Connection._close does to a lost connection

        # Closing the channel disconnects its pools, then gives the reserved message back to
        # Redis through a new client: a connection error now, which maybe_close_channel
        # ignores, where it used to escape as an AttributeError.
        conn.maybe_close_channel(queue.channel)

        # and so is acking through it, which Celery logs as "Couldn't ack" and goes on
        with pytest.raises(conn.connection_errors):
            queue.channel._connparams()
