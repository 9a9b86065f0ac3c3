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


def celery_argv(
    concurrency: int, extra: list[str], log_level: str = "INFO", log_json: bool = False
) -> list[str]:
    """Celery's worker under workers.celery_main (our logging); its banner only when debugging
    in text (the banner is printed, not logged: it has no place among JSON lines)."""
    quiet = [] if log_level == "DEBUG" and not log_json else ["--quiet"]
    return [
        sys.executable, "-m", "workers.celery_main", *quiet, "-A", "workers.app", "worker",
        "-Q", "webhooks", "--pool", "threads", "--concurrency", str(concurrency),
        "-E", "--loglevel", log_level,
        "--without-gossip", "--without-mingle",
        "-n", f"wg-webhooks-{os.getpid()}@%h",
        *extra,
    ]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    settings, _ = context.with_servers(context.load(args.config, resolve_hosts=True))
    advanced = settings.advanced
    argv = celery_argv(args.concurrency, args.extra, advanced.log_level, advanced.log_json)
    os.execv(sys.executable, argv)  # noqa: S606
    return 0  # not reached
