"""`wg-webhooks worker [celery args...]`: a Celery worker on the webhooks queue."""

from __future__ import annotations

import argparse
import os
import sys

from services.cli import context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="tasks run at once (threads: they wait on receivers, not on the CPU)",
    )


def celery_argv(concurrency: int, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.app", "worker",
        "-Q", "webhooks", "--pool", "threads", "--concurrency", str(concurrency),
        "-E", "--loglevel", os.environ.get("WG_WEBHOOKS_LOG_LEVEL", "INFO"),
        "--without-gossip", "--without-mingle",
        "-n", f"wg-webhooks-{os.getpid()}@%h",
        *extra,
    ]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    context.with_servers(context.load(args.config, resolve_hosts=True))
    argv = celery_argv(args.concurrency, args.extra)
    os.execv(sys.executable, argv)  # noqa: S606
    return 0  # not reached
