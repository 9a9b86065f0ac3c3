"""`wg-webhooks relay`: the outbox relay, started by module name (services never import workers)."""

from __future__ import annotations

import argparse
import os
import sys

from services.cli import context
from services.config import ConfigError
from services.config_values import listen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--probe",
        metavar="HOST:PORT",
        default="",
        help="serve a liveness probe (GET /livez: 503 once the relay's loop is stuck)",
    )


def run(args: argparse.Namespace) -> int:
    if args.probe:
        try:
            listen(args.probe)
        except ValueError as exc:
            raise ConfigError("--probe", str(exc)) from None
        os.environ["WG_WEBHOOKS_RELAY_PROBE"] = args.probe  # workers.relay.PROBE_VARIABLE
    context.with_servers(context.load(args.config, resolve_hosts=True))
    os.execv(sys.executable, [sys.executable, "-m", "workers.relay"])  # noqa: S606
    return 0  # not reached
