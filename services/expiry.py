"""wg-portal's own periodic event, when wg-webhooks is the system of record (no `portal.url`).

wg-portal checks every `advanced.expiry_check_interval` (15 minutes) for enabled peers whose
expiry date has passed and disables them: an `update` with `Disabled` set and `DisabledReason`
"expired" (internal/app/wireguard/wireguard.go, `checkExpiredPeers`). Beside a running
wg-portal, wg-portal does that itself and its events arrive through ingest and reconcile.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection

from services.config import Settings
from services.domain import peers
from services.periodic import JobRun, run_job

log = logging.getLogger(__name__)

JOB = "expiry"


def check(settings: Settings, interval: float | None = None) -> JobRun[list[str]]:
    """Disable the expired peers, as the cluster's one runner of the check."""

    def work(conn: Connection[Any]) -> list[str]:
        with conn.transaction():
            disabled = peers.disable_expired(conn, settings, datetime.now(UTC))
        for identifier in disabled:
            log.info("peer %s has expired: disabled", identifier)
        return disabled

    return run_job(settings.database_dsn, JOB, work, interval, "wg-webhooks-expiry")
