"""`wg-webhooks relay`: the outbox relay, started by module name (services never import workers)."""

from __future__ import annotations

import argparse
import os
import sys

from services.cli import context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    context.with_servers(context.load(args.config, resolve_hosts=True))
    os.execv(sys.executable, [sys.executable, "-m", "workers.relay"])  # noqa: S606
    return 0  # not reached
