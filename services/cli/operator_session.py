"""What the operator commands (`deliveries`, `redeliver`, `recover`, `endpoints`) share: the
database session beside a running `up` (embedded servers found or started, and stopped again),
domain errors as one line and exit code 1, and their common arguments."""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from services import redrive
from services.cli import context
from services.config import Settings
from services.domain.errors import DomainError


class CommandFailed(Exception):
    """A one-line message for stderr; the command exits 1."""


@contextlib.contextmanager
def database(config: str | None) -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    """Settings and an autocommit connection, on the same servers as a running `up`."""
    settings, stack = context.with_servers(context.load(config))
    try:
        try:
            conn = psycopg.connect(
                settings.database_dsn, autocommit=True, application_name="wg-webhooks-cli"
            )
        except psycopg.OperationalError as exc:
            raise CommandFailed(f"cannot reach the database: {str(exc).strip()[:300]}") from None
        with conn:
            try:
                yield settings, conn
            except psycopg.errors.UndefinedTable:
                raise CommandFailed(
                    "the database has no webhook tables yet: run `wg-webhooks migrate` first"
                ) from None
            except DomainError as exc:
                raise CommandFailed(exc.message) from None
    finally:
        stack.stop()


Run = Callable[[argparse.Namespace], int]


def failing_as_exit_code(run: Run) -> Run:
    """Decorate a command's `run`: CommandFailed -> message on stderr, exit code 1."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            code: int = run(args)
        except CommandFailed as exc:
            print(f"wg-webhooks: {exc}", file=sys.stderr)
            return 1
        return code

    return wrapper


def duration_argument(text: str) -> float:
    """A `--since` window: what the API and Flower's task accept, refused as they refuse it."""
    try:
        return redrive.since_seconds(text, "since")
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("since: ")) from None


def filter_argument(text: str) -> str:
    """A name filter (`--endpoint`, `--identifier`, ...) Postgres can compare."""
    try:
        redrive.check_text(text, "value")
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("value: ")) from None
    return text


def limit_argument(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= limit <= redrive.MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1 to {redrive.MAX_LIMIT}")
    return limit


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config` after a nested subcommand too (`deliveries list --config x.yaml`)."""
    parser.add_argument(
        "--config", dest="sub_config", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
