"""`wg-webhooks recover --since DURATION [--endpoint NAME] [--status dead]`: bulk re-drive."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from services import redrive
from services.cli.operator_session import (
    database,
    duration_argument,
    failing_as_exit_code,
    filter_argument,
)
from services.durations import format_duration
from services.endpoints import live

# Fewer rows than this finish before a bar would be worth looking at.
PROGRESS_MIN_ROWS = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        type=duration_argument,
        required=True,
        metavar="DURATION",
        help="whose last change (death, for dead ones) is within this (like 24h)",
    )
    parser.add_argument(
        "--endpoint", type=filter_argument, metavar="NAME", help="only this endpoint's deliveries"
    )
    parser.add_argument(
        "--status", choices=redrive.STATUSES, default="dead", help="which to re-drive (dead)"
    )


class ProgressBar:
    """`recovering [########----------]  40%  4000/10000` on one line of stderr."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.shown = False
        self.last_draw = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        now = time.monotonic()
        if done < total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\rrecovering [{bar}] {100 * done // total:3d}%  {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


@failing_as_exit_code
def run(args: argparse.Namespace) -> int:
    bar = ProgressBar(sys.stderr)
    with database(args.config) as (settings, conn):
        if args.endpoint is not None:
            live.require_known(conn, settings, args.endpoint, "endpoint ")
        try:
            count = redrive.recover(conn, args.since, args.endpoint, args.status, progress=bar)
        finally:
            bar.close()
    where = f" of endpoint {args.endpoint}" if args.endpoint else ""
    print(
        f"re-drove {count} {args.status} deliveries{where}"
        f" (last changed within {format_duration(args.since)})"
    )
    return 0
