"""The periodic job a deployment runs, on the schedule every relay carries.

Beside a running wg-portal (`portal.url` set): reconcile with it every
`portal.reconcile_interval`. As the system of record: wg-portal's expired-peers check every
`advanced.expiry_check_interval`. Either way one replica runs it (`services.periodic`).
"""

from __future__ import annotations

import logging

from services import expiry
from services.bridge import reconcile
from services.config import Settings
from services.periodic import Schedule, Status

log = logging.getLogger(__name__)


def schedule_for(settings: Settings) -> Schedule:
    if settings.portal.url:
        interval = settings.portal.reconcile_interval

        def reconcile_round() -> None:
            run = reconcile.run_round(settings, interval=interval)
            if run.status is Status.FAILED:
                log.error("reconcile round failed, nothing deleted: %s", run.error)
            elif run.result is not None:
                log.info("reconcile round: %s", run.result.summary())

        return Schedule("reconcile", interval, reconcile_round)
    interval = settings.advanced.expiry_check_interval

    def expiry_check() -> None:
        run = expiry.check(settings, interval=interval)
        if run.status is Status.FAILED:
            log.error("expired-peers check failed: %s", run.error)

    return Schedule("expiry", interval, expiry_check)
