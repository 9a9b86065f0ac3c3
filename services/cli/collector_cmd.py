"""`wg-webhooks collector`: the peer status collector (connect / disconnect events).

`--once` runs one cycle and exits 0 when it recorded, 1 when the dump or the database failed.
`--dump-file PATH` reads a saved `wg show all dump` instead of running `statistics.wg_command`.
SIGTERM and SIGINT stop the loop after the cycle in progress.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from psycopg_pool import PoolTimeout

from services import tracing
from services.cli import context
from services.collector.loop import Collector, CycleResult, command_timeout
from services.collector.source import DumpFile, DumpSource, WgCommand
from services.db.pool import make_pool

log = logging.getLogger("services.collector")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="run one cycle and exit")
    parser.add_argument(
        "--dump-file",
        type=Path,
        metavar="PATH",
        help="read this saved `wg show all dump` output instead of running statistics.wg_command",
    )


def run(args: argparse.Namespace) -> int:
    settings = context.load(args.config)
    tracing.setup("collector")
    if not settings.statistics.collect_peer_data:
        log.warning("statistics.collect_peer_data is false: the collector has nothing to do")
        return 0
    source: DumpSource = (
        DumpFile(args.dump_file)
        if args.dump_file is not None
        else WgCommand(settings.statistics.wg_command, command_timeout(settings))
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after this cycle", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    settings, stack = context.with_servers(settings)
    pool = make_pool(settings.database_dsn, min_size=1, max_size=1, name="wg-webhooks-collector")
    try:
        try:
            pool.open(wait=True)
        except PoolTimeout:
            log.error("cannot connect to the database: no peer status is collected")
            return 1
        collector = Collector(settings, pool, source)
        if args.once:
            return 0 if collector.cycle() is CycleResult.RECORDED else 1
        collector.run(stop)
        return 0
    finally:
        pool.close()
        stack.stop()
