"""`wg-webhooks reconcile [--once] [--baseline]`: compare with a running wg-portal and apply each
difference with its event (`services.bridge.reconcile`).

`--once` runs one round and exits: 0 done, 1 failed (nothing deleted; the reason is printed),
3 another replica is running a round now. Without it, a round every `portal.reconcile_interval`
until SIGTERM / Ctrl-C. `--baseline` adopts wg-portal's state without sending events (the first
run beside a big wg-portal); it implies `--once`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from services.bridge import reconcile
from services.cli import context
from services.cli.logging_setup import setup_logging
from services.config import ConfigError, Settings
from services.periodic import Status

EXIT = {Status.DONE: 0, Status.FAILED: 1, Status.BUSY: 3, Status.NOT_DUE: 0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="run one round and exit")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="adopt wg-portal's state without sending events (one round)",
    )


def run(args: argparse.Namespace) -> int:
    setup_logging()
    settings = context.load(args.config)
    if not settings.portal.url:
        raise ConfigError("portal.url", "is required to reconcile (a running wg-portal)")
    settings, stack = context.with_servers(settings)
    try:
        if args.once or args.baseline:
            return _round(settings, args.baseline)
        stop = threading.Event()

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            del signum
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        while not stop.is_set():
            _round(settings, False)
            stop.wait(settings.portal.reconcile_interval)
        return 0
    finally:
        stack.stop()


def _round(settings: Settings, baseline: bool) -> int:
    run = reconcile.run_round(settings, baseline=baseline)
    if run.status is Status.DONE and run.result is not None:
        kind = "baseline adopted" if baseline else "reconciled"
        print(f"{kind}: {run.result.summary()}", flush=True)
    elif run.status is Status.FAILED:
        print(f"wg-webhooks: reconcile failed, nothing deleted: {run.error}", file=sys.stderr)
    else:
        print("another replica is reconciling now: nothing done", file=sys.stderr)
    return EXIT[run.status]
