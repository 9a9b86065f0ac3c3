"""`wg-webhooks migrate`: apply pending schema migrations (idempotent, safe in parallel)."""

from __future__ import annotations

import argparse

from services.cli import context
from services.db.migrate import migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    settings, stack = context.with_servers(context.load(args.config))
    try:
        applied = migrate(settings.database_dsn)
    finally:
        stack.stop()
    print(f"applied {len(applied)} migration(s)" if applied else "schema is up to date")
    return 0
