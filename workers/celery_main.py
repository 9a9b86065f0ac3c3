"""Celery's own command line (`worker`, `flower`) with this project's logging set up first.

`python -m workers.celery_main -A workers.app worker ...` is `celery -A workers.app worker ...`,
except that the root logger already has our handler (`advanced.log_level` / `log_json`) and
Celery is told to leave logging alone, so its records, Flower's and tornado's go through it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery.signals import setup_logging as celery_setup_logging

from services import tracing
from services.cli.logging_setup import setup_logging
from services.config import Advanced, ConfigError
from workers.runtime import settings_from_environment


def _ours_already(**_: Any) -> None:
    """A receiver of Celery's setup_logging signal: Celery then configures no logging itself."""


def _say_as_a_record(msg: str, f: Any = None) -> None:
    """Celery writes its shutdown notices ("worker: Warm shutdown") straight to the terminal;
    here they are records like every other line of the process."""
    del f
    logging.getLogger("celery.apps.worker").info("%s", msg.strip())


class _RootNoticeAsInfo(logging.Filter):
    """Celery warns, on every start as root, that running as root is not recommended. Where
    that is a choice (a container's root, `up` on a laptop) the warning only pushes the first
    screen away: it stays in the log, at INFO. README: how to run the worker as another user."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "superuser privileges" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def main() -> None:
    try:
        advanced = settings_from_environment().advanced
    except ConfigError:
        advanced = Advanced()  # the CLI validated the config before it started us
    setup_logging(advanced)
    tracing.setup("flower" if "flower" in sys.argv else "worker")
    logging.getLogger("py.warnings").addFilter(_RootNoticeAsInfo())
    celery_setup_logging.connect(_ours_already, weak=False)
    from celery.__main__ import main as celery
    from celery.apps import worker

    worker.safe_say = _say_as_a_record

    sys.argv = ["celery", *sys.argv[1:]]
    celery()


if __name__ == "__main__":
    main()
