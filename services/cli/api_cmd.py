"""`wg-webhooks api`: the HTTP API under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from services import tracing
from services.api.app import create_app
from services.cli import context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    settings, stack = context.with_servers(context.load(args.config, resolve_hosts=True))
    tracing.setup("api")
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.web.host,
            port=settings.web.port,
            # uvicorn's records go through our handler (log_config=None): its start-up chatter
            # only when debugging
            log_config=None,
            log_level="debug" if settings.advanced.log_level == "DEBUG" else "warning",
            access_log=False,
            timeout_graceful_shutdown=10,
            limit_concurrency=512,
        )
    finally:
        stack.stop()
    return 0
